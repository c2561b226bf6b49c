// The example commune site (examples/commune-site), started from its own module on a loopback
// port against a real GLC, driven in Chromium with the keyboard at phone width: a resident signs
// in, sees their identity (certified values marked), logs out; deletes their GLC account and
// disappears from the commune's table at the next poll of the deleted-accounts API, whose cursor
// is kept. Back-channel logout ends the commune's session; forged logout tokens are refused.
import { readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { tabTo, typeInto } from './support/chromium.js';
import { freePort, STRONG_PASSWORD } from './support/glc.js';
import { glcWithChromium } from './support/browser-suite.js';
import { createResident } from './accounts-support.js';
import { ensureCommuneSiteClient, COMMUNE_SITE_FILE, type CommuneSiteCredentials } from '../src/demo/commune-site.js';
import { createCommuneSite, startCommuneSite, type RunningCommuneSite } from '../examples/commune-site/src/site.js';
import { JsonFileResidentStore } from '../examples/commune-site/src/residents.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../examples/commune-site/src/glc.js';

const suite = glcWithChromium();
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 375, height: 740 };

let site: RunningCommuneSite;
let credentials: CommuneSiteCredentials;
let storeFile: string;
let store: JsonFileResidentStore;
let folder: string;

beforeAll(async () => {
  const port = await freePort();
  const siteUrl = `http://127.0.0.1:${port}`;
  // What GLC's `npm start` does in development, here for the site's test address.
  credentials = await ensureCommuneSiteClient(suite.glc.services, siteUrl);
  folder = mkdtempSync(path.join(os.tmpdir(), 'commune-site-'));
  storeFile = path.join(folder, 'usagers.json');
  store = new JsonFileResidentStore(storeFile);
  site = await startCommuneSite({
    siteUrl,
    port,
    host: '127.0.0.1',
    glc: credentials,
    store,
    cookieKeys: ['clé de test'],
    production: false,
    log: () => undefined,
  });
});
afterAll(async () => {
  await site?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function activate(page: Page, selector: string): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.press('Enter');
}

/** The example's pages: WCAG 2.1 AA by axe, French, one h1, skip link first, no horizontal scrolling at 375 px. */
async function audit(page: Page): Promise<string[]> {
  await page.waitForLoadState('load');
  const problems: string[] = [];
  const facts = await page.evaluate(() => {
    const first = document.querySelector('a[href], button, input:not([type=hidden])');
    return {
      lang: document.documentElement.lang,
      h1: document.querySelectorAll('h1').length,
      skip: first?.getAttribute('href') === '#contenu' && document.getElementById('contenu') !== null,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      title: document.title,
    };
  });
  if (facts.lang !== 'fr') problems.push(`lang=${facts.lang}`);
  if (facts.h1 !== 1) problems.push(`${facts.h1} h1`);
  if (!facts.skip) problems.push('no skip link first');
  if (facts.overflow > 0) problems.push(`scrolls ${facts.overflow} px horizontally at ${page.viewportSize()?.width} px`);
  if (!/\S — Commune de Valfleuri$/.test(facts.title)) problems.push(`title « ${facts.title} »`);
  await page.evaluate(axeSource); // evaluated by the DevTools protocol: the site's CSP stays enforced
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(o: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } })
      .axe;
    const result = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => `${v.id} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return [...problems, ...violations].map((p) => `${new URL(page.url()).pathname}: ${p}`);
}

async function phone(): Promise<{ context: BrowserContext; page: Page }> {
  // The site's Content-Security-Policy is enforced (its logout form redirects to GLC: form-action must allow it).
  const context = await suite.chromium.newContext({ viewport: PHONE, locale: 'fr-FR' });
  return { context, page: await context.newPage() };
}

/** From the site's home page to GLC's login page, by the charter's button. */
async function toGlcLogin(page: Page): Promise<void> {
  await page.goto(site.url);
  await activate(page, 'a.glc-button');
  await page.waitForURL(/\/interaction\//);
}

async function consentIfAsked(page: Page): Promise<void> {
  const consent = page.getByRole('button', { name: 'Autoriser' });
  await Promise.race([consent.waitFor(), page.waitForURL(`${site.url}/mon-compte`)]);
  if (page.url().startsWith(site.url)) return;
  await activate(page, '#consentement button[type=submit]');
}

describe('the example commune site', () => {
  it('is registered by GLC in development, once, its secret written to the data folder for the owner only', async () => {
    const file = path.join(suite.glc.config.dataDir, COMMUNE_SITE_FILE);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(credentials);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(credentials).toMatchObject({ issuer: suite.glc.config.issuer, siteUrl: site.url });
    // Each GLC restart keeps the same registration.
    expect(await ensureCommuneSiteClient(suite.glc.services, site.url)).toEqual(credentials);
  });

  it('signs a resident in with the keyboard at 375 px, shows their identity and keeps them in its table; after the GLC account is deleted, the next poll removes them and the cursor is kept', async () => {
    const { context, page } = await phone();
    const problems: string[] = [];
    const email = 'habitant@valfleuri.example';
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) problems.push(`${page.url()}: ${message.text()}`);
    });

    // Home page: the commune's logo beside GLC's, and the charter's button.
    await page.goto(site.url);
    problems.push(...(await audit(page)));
    expect(await page.getByRole('img', { name: 'Commune de Valfleuri' }).count()).toBe(1);
    const button = page.getByRole('link', { name: 'Se connecter avec GrandLyon Connect' });
    expect(await button.getAttribute('class')).toBe('glc-button');
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(161, 0, 31)');
    expect((await button.boundingBox())!.height).toBeGreaterThanOrEqual(44);

    // GLC's login page shows the commune's logo; the resident signs up, confirms, logs in, consents.
    await activate(page, 'a.glc-button');
    await page.waitForURL(/\/interaction\//);
    expect(await page.locator('img.client-logo').getAttribute('alt')).toBe('Site de la commune de Valfleuri (exemple)');
    await activate(page, 'a[href$="/inscription"]');
    await page.waitForURL(/inscription/);
    await typeInto(page, '#email', email);
    await typeInto(page, '#password', STRONG_PASSWORD);
    await typeInto(page, '#passwordConfirmation', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vérifiez votre messagerie' }).waitFor();
    await suite.glc.services.accounts.settled(); // the account and its mail are made after the answer
    await page.goto(suite.glc.linkInLastMail(email, /http\S+\/inscription\/confirmer\S+/));
    await activate(page, 'a.button');
    await page.waitForURL(/\/interaction\//);
    await typeInto(page, '#email', email);
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await consentIfAsked(page);

    // Back at the commune: the identity received, and the commune's own record.
    await page.waitForURL(`${site.url}/mon-compte`);
    problems.push(...(await audit(page)));
    expect(await page.locator('[data-claim="email"] dd').textContent()).toBe(`${email} (vérifiée)`);
    expect(await page.locator('.certifie').count()).toBe(0); // nothing certified without FranceConnect
    const [resident, ...others] = await store.list();
    expect(others).toEqual([]);
    expect(resident).toMatchObject({ email });
    const sub = resident!.sub;
    expect(await page.getByTestId('fiche-locale').textContent()).toContain(sub);
    await page.goto(`${site.url}/usagers`);
    problems.push(...(await audit(page)));
    expect(await page.getByTestId('usagers').textContent()).toContain(email);

    // RP-initiated logout: GLC asks for confirmation, then comes back to the commune.
    await page.goto(`${site.url}/mon-compte`);
    await activate(page, 'form[action="/deconnexion"] button');
    await page.getByRole('button', { name: 'Me déconnecter' }).waitFor();
    await activate(page, 'button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(`${site.url}/deconnexion/fin?state=`));
    problems.push(...(await audit(page)));
    await page.goto(`${site.url}/mon-compte`);
    expect(page.url()).toBe(`${site.url}/`);
    expect(site.site.sessions.activeFor(sub)).toBe(0);

    // Signs in again (no consent asked twice), then deletes the GLC account.
    await toGlcLogin(page);
    await typeInto(page, '#email', email);
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${site.url}/mon-compte`);
    expect(site.site.sessions.activeFor(sub)).toBe(1);
    await page.goto(`${suite.glc.config.issuer}/compte/supprimer`);
    await typeInto(page, '#password', STRONG_PASSWORD);
    await tabTo(page, '#confirm');
    await page.keyboard.press('Space');
    await activate(page, 'button.button-danger');
    await page.waitForURL(/compte-supprime/);

    // GLC's back-channel logout has ended the commune's session; the record waits for the poller.
    await expect.poll(() => site.site.sessions.activeFor(sub)).toBe(0);
    await page.goto(`${site.url}/mon-compte`);
    expect(page.url()).toBe(`${site.url}/`);
    expect(await store.find(sub)).toBeDefined();

    const first = await site.site.pollDeletedAccounts();
    expect(first).toMatchObject({ received: 1, removed: 1 });
    expect(first.cursor).toEqual(expect.any(String));
    expect(await store.find(sub)).toBeUndefined();
    await page.goto(`${site.url}/usagers`);
    expect(await page.getByTestId('usagers-vide').textContent()).toBe('Aucun usager connu.');

    // The cursor is remembered: nothing new at the next pass, nor after a restart from the file.
    expect(await site.site.pollDeletedAccounts()).toEqual({ received: 0, removed: 0, cursor: first.cursor });
    const reopened = new JsonFileResidentStore(storeFile);
    expect(await reopened.deletedAccountsCursor()).toBe(first.cursor);
    const restarted = createCommuneSite({
      siteUrl: site.url,
      glc: credentials,
      store: reopened,
      cookieKeys: ['autre clé'],
      production: false,
      log: () => undefined,
    });
    expect(await restarted.pollDeletedAccounts()).toEqual({ received: 0, removed: 0, cursor: first.cursor });
    // A cursor GLC refuses (the service registered again, a data folder reset): everything kept is read again.
    await reopened.saveDeletedAccountsCursor('curseur-inconnu');
    expect(await restarted.pollDeletedAccounts()).toEqual({ received: 1, removed: 0, cursor: first.cursor });

    expect(problems).toEqual([]);
    await context.close();
  });

  it('marks the values FranceConnect certified', async () => {
    const { context, page } = await phone();
    await toGlcLogin(page);
    await activate(page, 'button.franceconnect-button');
    await page.waitForURL(/\/franceconnect-mock\/api\/v2\/interaction\//);
    await typeInto(page, '#login', 'avec_nom_dusage');
    await typeInto(page, '#password', '123');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Première connexion avec FranceConnect' }).waitFor();
    await activate(page, 'form[action$="/franceconnect/creer"] button');
    await page.getByRole('button', { name: 'Autoriser' }).waitFor();
    for (const claim of ['birthdate', 'gender', 'verified_claims']) {
      await tabTo(page, `#facultatif-${claim}`);
      await page.keyboard.press('Space');
    }
    await activate(page, '#consentement button[type=submit]');
    await page.waitForURL(`${site.url}/mon-compte`);
    expect(await audit(page)).toEqual([]);

    const rows = await page.locator('.identite__ligne').evaluateAll((lines) =>
      lines.map((l) => ({
        claim: l.getAttribute('data-claim'),
        value: l.querySelector('dd')!.childNodes[0]!.textContent!.trim(),
        certified: l.querySelector('.certifie') !== null,
      })),
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { claim: 'given_name', value: 'Jean', certified: true },
        { claim: 'family_name', value: 'MARTIN', certified: true },
        { claim: 'birthdate', value: '12 mars 1981', certified: true },
        { claim: 'gender', value: 'masculin', certified: true },
        { claim: 'email', value: 'jean.martin@example.fr (vérifiée)', certified: false },
      ]),
    );
    // The badge says what it means to a screen reader too.
    expect(await page.locator('[data-claim="given_name"] .certifie').textContent()).toBe('Certifié par FranceConnect');
    expect(await page.locator('main').textContent()).toMatch(
      /vérifiées par l’État au moyen de FranceConnect \(dernière vérification le \d+ \S+ \d{4}\)/,
    );
    await context.close();
  });

  it('tells a resident who refuses to share their data that nothing was sent, keeps no record, and offers to try again', async () => {
    await createResident(suite.glc, 'refus@valfleuri.example');
    const { context, page } = await phone();
    await toGlcLogin(page);
    await typeInto(page, '#email', 'refus@valfleuri.example');
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Refuser' }).waitFor();
    await activate(page, 'form[action$="/abort"] button');
    await page.waitForURL((u) => u.href.startsWith(`${site.url}/connexion/retour?error=access_denied`));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Connexion annulée');
    expect(await page.getByRole('link', { name: 'Réessayer de se connecter' }).getAttribute('href')).toBe('/connexion-grandlyon');
    expect(await audit(page)).toEqual([]);
    expect((await store.list()).map((r) => r.email)).not.toContain('refus@valfleuri.example');
    await context.close();
  });

  it('ends its session when GLC sends a back-channel logout (the resident logged out at GLC)', async () => {
    await createResident(suite.glc, 'partout@valfleuri.example');
    const { context, page } = await phone();
    await toGlcLogin(page);
    await typeInto(page, '#email', 'partout@valfleuri.example');
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await consentIfAsked(page);
    await page.waitForURL(`${site.url}/mon-compte`);
    const resident = (await store.list()).find((r) => r.email === 'partout@valfleuri.example')!;
    expect(site.site.sessions.activeFor(resident.sub)).toBe(1);

    // Logged out at GLC itself, not at the commune: only the back-channel can tell the commune.
    await page.goto(`${suite.glc.config.issuer}/session/end`);
    await activate(page, 'button[value=yes]');
    await page.waitForURL(/\/session\/end\/success/);
    await expect.poll(() => site.site.sessions.activeFor(resident.sub)).toBe(0);
    await page.goto(`${site.url}/mon-compte`);
    expect(page.url()).toBe(`${site.url}/`);
    expect(await store.find(resident.sub)).toBeDefined(); // logging out is not leaving: the record stays
    await context.close();
  });

  it('keeps every resident when logins and removals of its table run at the same time', async () => {
    const parallel = new JsonFileResidentStore(path.join(folder, 'parallele.json'));
    const subs = Array.from({ length: 40 }, (_, i) => `sub-${i}`);
    await Promise.all(subs.map((sub) => parallel.recordLogin({ sub, givenName: null, familyName: null, email: null }, new Date())));
    await Promise.all([
      ...subs.filter((_, i) => i % 2).map((sub) => parallel.remove(sub)),
      ...subs.map((sub) => parallel.recordLogin({ sub: `${sub}-b`, givenName: null, familyName: null, email: null }, new Date())),
      parallel.saveDeletedAccountsCursor('c'),
    ]);
    const kept = (await new JsonFileResidentStore(path.join(folder, 'parallele.json')).list()).map((r) => r.sub).sort();
    expect(kept).toEqual([...subs.filter((_, i) => i % 2 === 0), ...subs.map((sub) => `${sub}-b`)].sort());
  });

  it('answers in French, never with a stack trace, when GLC cannot be reached or a page does not exist', async () => {
    const port = await freePort();
    const down = await startCommuneSite({
      siteUrl: `http://127.0.0.1:${port}`,
      port,
      host: '127.0.0.1',
      glc: { ...credentials, issuer: 'http://127.0.0.1:9' },
      store,
      cookieKeys: ['k'],
      production: false,
      log: () => undefined,
    });
    const unreachable = await fetch(`${down.url}/connexion-grandlyon`, { redirect: 'manual' });
    expect(unreachable.status).toBe(503);
    expect(await unreachable.text()).toContain('La connexion avec GrandLyon Connect est momentanément impossible.');
    const missing = await fetch(`${down.url}/nulle-part`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cette page n’existe pas.');
    await down.close();
  });

  it('refuses, over HTTP, every logout token the specification forbids, and accepts a valid one once', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    const port = await freePort();
    const local = await startCommuneSite({
      siteUrl: `http://127.0.0.1:${port}`,
      port,
      host: '127.0.0.1',
      glc: credentials,
      store,
      cookieKeys: ['k'],
      production: false,
      logoutTokenKeys: async () => jwks,
      log: () => undefined,
    });
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const valid: JWTPayload = {
      iss: credentials.issuer,
      aud: credentials.clientId,
      iat: now,
      jti: 'jti-1',
      sid: 'sid-1',
      sub: 'sub-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    };
    const sign = (payload: JWTPayload, key = privateKey, typ = 'logout+jwt') =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ }).sign(key);
    const post = async (token: string) =>
      (
        await fetch(`${local.url}/deconnexion/back-channel`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ logout_token: token }),
        })
      ).status;
    const without = (claim: string) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== claim));

    const forbidden: Record<string, string> = {
      'another key': await sign(valid, stranger),
      'another issuer': await sign({ ...valid, iss: 'https://ailleurs.example' }),
      'another audience': await sign({ ...valid, aud: 'glc_autre' }),
      'no iat': await sign(without('iat')),
      'iat an hour ago': await sign({ ...valid, iat: now - 3600 }),
      'no jti': await sign(without('jti')),
      'no events': await sign(without('events')),
      'another event': await sign({ ...valid, events: { 'https://schemas.openid.net/secevent/risc/event-type/account-purged': {} } }),
      'event not an object': await sign({ ...valid, events: { [BACKCHANNEL_LOGOUT_EVENT]: true } }),
      'neither sid nor sub': await sign(Object.fromEntries(Object.entries(valid).filter(([k]) => k !== 'sid' && k !== 'sub'))),
      'a nonce': await sign({ ...valid, nonce: 'n' }),
      'typ of an ID token': await sign(valid, privateKey, 'JWT'),
      expired: await sign({ ...valid, exp: now - 120 }),
    };
    const statuses = Object.fromEntries(
      await Promise.all(Object.entries(forbidden).map(async ([name, token]) => [name, await post(token)] as const)),
    );
    expect(statuses).toEqual(Object.fromEntries(Object.keys(forbidden).map((name) => [name, 400])));
    expect(await post('pas un jeton')).toBe(400);

    const kept = local.site.sessions.create({ sub: 'sub-1', sid: 'sid-2', idToken: 'x', claims: {} });
    const ended = local.site.sessions.create({ sub: 'sub-1', sid: 'sid-1', idToken: 'x', claims: {} });
    const token = await sign(valid);
    expect(await post(token)).toBe(200);
    expect(local.site.sessions.get(ended.id)).toBeUndefined();
    expect(local.site.sessions.get(kept.id)).toBeDefined(); // sid names one GLC session, not every one of the resident
    expect(await post(token)).toBe(400); // a replayed jti
    expect(await post(await sign({ ...without('sid'), jti: 'jti-2' }))).toBe(200); // sub alone: every session of the resident
    expect(local.site.sessions.get(kept.id)).toBeUndefined();
    await local.close();
  });
});

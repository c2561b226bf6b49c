// The console in Debian's Chromium, keyboard only, at 1280 and 375 px, axe-core on every page met:
// an agent finds a resident, lifts a block and sends a reset mail, and the resident sees both on
// their security page; a DPO exports the journal as CSV; an admin registers a service that an
// openid-client relying party uses at once.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import * as oidc from 'openid-client';
import { authenticator } from 'otplib';
import { glcWithChromium } from './support/browser-suite.js';
import { noHorizontalScroll, tabTo, typeInto } from './support/chromium.js';
import { Browser } from './support/browser.js';
import { authorizationRequest, callbackUrl, STRONG_PASSWORD, type TestClient } from './support/glc.js';
import { createResident } from './accounts-support.js';
import { signInAtGlc } from './support/kit.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const suite = glcWithChromium();
const RESIDENT = 'marie.lefevre@example.fr';
const problems: string[] = [];
const audited = new Set<string>();

/** axe at 1280 and 375 px, and no horizontal scroll at 375 px; problems collected. */
async function audit(page: Page, label: string): Promise<void> {
  audited.add(label);
  for (const viewport of [
    { width: 1280, height: 900 },
    { width: 375, height: 740 },
  ]) {
    await page.setViewportSize(viewport);
    if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
    const violations = await page.evaluate(async (tags) => {
      const run = (
        window as unknown as {
          axe: { run(d: Document, o: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> };
        }
      ).axe.run;
      return (await run(document, { runOnly: { type: 'tag', values: tags } })).violations.map(
        (v) => `${v.id} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      );
    }, AXE_TAGS);
    problems.push(...violations.map((v) => `${label} @${viewport.width}: ${v}`));
    if (viewport.width === 375 && !(await noHorizontalScroll(page))) {
      // Name the elements that stick out, to fix them quickly.
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('main *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(-3)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      );
      problems.push(`${label} @375: horizontal scroll (${wide.join(', ')})`);
    }
  }
}

/** Keyboard-only console login (password, then TOTP); enrols at first login. */
async function consoleLogin(page: Page, email: string): Promise<void> {
  const glc = suite.glc;
  await page.goto(`${glc.config.issuer}/admin`);
  expect(new URL(page.url()).pathname).toBe('/admin/connexion');
  await audit(page, 'connexion');
  await typeInto(page, '#email', email);
  await typeInto(page, '#password', STRONG_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/admin\/second-facteur$/);
  await audit(page, 'second facteur (activation)');
  const secret = (await page.locator('#totp-secret').textContent())!.trim();
  await typeInto(page, '#code', authenticator.generate(secret));
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await audit(page, 'codes de secours');
  await follow(page, 'a[href="/admin"].button');
  expect(new URL(page.url()).pathname).toBe('/admin');
  await audit(page, 'accueil');
}

async function follow(page: Page, selector: string): Promise<void> {
  await tabTo(page, selector);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

async function submitWith(page: Page, field: string, value: string): Promise<void> {
  await typeInto(page, field, value);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
}

// Whole journeys with an audit of each page: about 60 s on a slow shared 2-core machine, past
// the default limit; a limit, not a measure (nothing here is timed).
describe('console in Chromium', { timeout: 180_000 }, () => {
  it('an agent finds a resident, lifts a block and sends a reset mail; the resident sees both', async () => {
    const glc = suite.glc;
    const resident = await createResident(glc, RESIDENT, { given_name: 'Marie', family_name: 'LEFÈVRE' });
    await createResident(glc, 'agent@grandlyon.fr');
    await glc.services.admin.grant('agent@grandlyon.fr', 'assistance', 'test');
    for (let i = 0; i < 6; i++)
      await glc.services.accounts.logIn({ email: RESIDENT, password: 'faux mot de passe', ip: '198.51.100.9' }, new Date());

    const context = await suite.chromium.newContext({ locale: 'fr-FR', bypassCSP: true });
    const page = await context.newPage();
    await consoleLogin(page, 'agent@grandlyon.fr');
    await follow(page, 'a[href="/admin/comptes"]');
    await audit(page, 'recherche');
    await submitWith(page, '#q', 'lefevre');
    await audit(page, 'résultats');
    await follow(page, `a[href="/admin/comptes/${resident.id}"]`);
    await audit(page, 'motif de consultation');
    await submitWith(page, '#motif', 'appel : compte bloqué');
    expect(await page.locator('main').textContent()).toMatch(/bloqué jusqu’au/);
    await audit(page, 'fiche du compte');
    await submitWith(page, '#motif-debloquer', 'appel : compte bloqué');
    expect(await page.locator('[role="status"]').textContent()).toContain('Le blocage des connexions est levé.');
    await audit(page, 'action effectuée');
    await follow(page, `a[href="/admin/comptes/${resident.id}"]`);
    await submitWith(page, '#motif', 'appel : mot de passe oublié');
    expect(await page.locator('main').textContent()).toMatch(/Blocage des connexions\s*aucun/);
    await submitWith(page, '#motif-reinitialisation', 'appel : mot de passe oublié');
    expect(await page.locator('[role="status"]').textContent()).toContain('réinitialisation');
    expect(glc.mails()[0]?.to).toBe(RESIDENT);
    await glc.services.db
      .insertInto('franceconnect_recovery_requests')
      .values({
        reference: 'FC-AXE-0001',
        account_id: null,
        new_sub: 'sub-axe',
        old_sub_hash: null,
        new_sub_hash: 'h',
        identity: null,
        expires_at: new Date(Date.now() + 86_400_000),
        resolved_at: null,
      })
      .execute();
    await glc.services.helpTickets.open(
      {
        email: RESIDENT,
        subject: 'Je n’arrive pas à me connecter',
        message: 'Mon compte est bloqué.',
        reference: undefined,
        requestId: 'test',
      },
      new Date(),
    );
    await follow(page, 'a[href="/admin/demandes"]');
    await audit(page, 'demandes d’assistance');
    await follow(page, 'a[href^="/admin/demandes/"]');
    await audit(page, 'demande d’assistance');
    await typeInto(page, '#note', 'Blocage levé.');
    await tabTo(page, 'form[action^="/admin/demandes/"] button');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await audit(page, 'demande d’assistance (note ajoutée)');
    await follow(page, 'a[href="/admin/franceconnect"]');
    await audit(page, 'demandes FranceConnect');
    // A forged request for a page of another role: the 403 page is audited too.
    await page.goto(`${glc.config.issuer}/admin/services`);
    await audit(page, 'accès refusé');
    await context.close();

    const residentContext = await suite.chromium.newContext({ locale: 'fr-FR' });
    const residentPage = await residentContext.newPage();
    await residentPage.goto(`${glc.config.issuer}/compte/securite`);
    await signInAtGlc(residentPage, glc, RESIDENT);
    await residentPage.waitForURL(/\/compte\/securite$/);
    const entries = (await residentPage.locator('.staff-entries').textContent())!.replace(/\s+/g, ' ');
    expect(entries).toMatch(
      /L’assistance de GrandLyon Connect a levé le blocage temporaire des connexions à votre compte le .+ \(motif : appel : compte bloqué\)/,
    );
    expect(entries).toMatch(
      /L’assistance de GrandLyon Connect vous a envoyé un courriel de réinitialisation du mot de passe le .+ \(motif : appel : mot de passe oublié\)/,
    );
    expect(entries).toMatch(/a consulté votre compte le .+ \(motif : appel : compte bloqué\)/);
    await residentContext.close();
  });

  it('a DPO reads and exports the audit journal as CSV', async () => {
    const glc = suite.glc;
    await createResident(glc, 'dpo@grandlyon.fr');
    await glc.services.admin.grant('dpo@grandlyon.fr', 'dpo', 'test');
    const context = await suite.chromium.newContext({ locale: 'fr-FR', bypassCSP: true, acceptDownloads: true });
    const page = await context.newPage();
    await consoleLogin(page, 'dpo@grandlyon.fr');
    await follow(page, 'a[href="/admin/comptes"]');
    await submitWith(page, '#q', 'marie');
    await follow(page, 'a[href^="/admin/comptes/"]');
    await submitWith(page, '#motif', 'demande d’accès RGPD n° 7');
    await audit(page, 'fiche du compte (DPO)');
    await follow(page, 'a[href="/admin/journal"]');
    await audit(page, 'journal');
    await tabTo(page, '#action');
    await page.keyboard.press('End');
    await page.selectOption('#action', 'throttle_lifted');
    await Promise.all([page.waitForNavigation(), page.locator('form.admin-filters button').press('Enter')]);
    await audit(page, 'journal filtré');
    await tabTo(page, 'a[download]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(csv[0]).toBe('numero;date;agent;role;action;compte;service;motif;requete;empreinte');
    expect(csv.slice(1)).toHaveLength(1);
    expect(csv[1]).toContain('agent@grandlyon.fr;assistance;throttle_lifted');
    await follow(page, 'a[href="/admin/verifications"]');
    await audit(page, 'vérifications');
    expect(await page.locator('main').textContent()).toMatch(/Intact/);
    await context.close();
  });

  it('an admin registers a service in the console and a relying party logs in with it at once', async () => {
    const glc = suite.glc;
    await createResident(glc, 'ops@grandlyon.fr');
    await glc.services.admin.grant('ops@grandlyon.fr', 'admin', 'test');
    const context = await suite.chromium.newContext({ locale: 'fr-FR', bypassCSP: true });
    const page = await context.newPage();
    await consoleLogin(page, 'ops@grandlyon.fr');
    await follow(page, 'a[href="/admin/services"]');
    await audit(page, 'services');
    await typeInto(page, '#svc-name', 'Piscines de Lyon');
    await typeInto(page, '#svc-org', 'Ville de Lyon');
    await typeInto(page, '#svc-redirect', 'http://127.0.0.1:9/piscines/callback');
    await typeInto(page, '#svc-scope', 'openid profile email');
    await tabTo(page, 'form[action="/admin/services"] button[type="submit"]');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await audit(page, 'service enregistré');
    const clientId = (await page.locator('#client-id').textContent())!.trim();
    const clientSecret = (await page.locator('#client-secret').textContent())!.trim();
    await follow(page, 'a[href="/admin/services"]');
    await follow(page, `a[href="/admin/services/${clientId}"]`);
    await audit(page, 'modifier un service');
    await typeInto(page, '#svc-purpose', 'Réserver un créneau à la piscine.');
    await tabTo(page, 'form[action^="/admin/services/"] button[type="submit"]');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await audit(page, 'service modifié');
    expect(await page.locator('[role="status"]').textContent()).toContain('Modifications enregistrées');
    await follow(page, 'a[href="/admin/cles"]');
    await audit(page, 'clés');
    // A sensitive action with a second factor older than 5 minutes: the code is asked again.
    await glc.services.db
      .updateTable('staff_sessions')
      .set({ second_factor_at: new Date(Date.now() - 6 * 60_000) })
      .execute();
    await tabTo(page, 'form[action="/admin/cles/retrait"] button');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await page.locator('h1').textContent()).toBe('Confirmer avec le second facteur');
    await audit(page, 'confirmation par le second facteur');
    await follow(page, 'a[href="/admin/taches"]');
    await audit(page, 'tâches');
    await follow(page, 'a[href="/admin/personnel"]');
    await audit(page, 'personnel');
    await context.close();

    const redirectUri = 'http://127.0.0.1:9/piscines/callback';
    const config = await oidc.discovery(new URL(glc.config.issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
      execute: [oidc.allowInsecureRequests],
    });
    const client: TestClient = { clientId, clientSecret, redirectUri, config };
    const pending = await authorizationRequest(client);
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get(pending.url.href));
    let next = await browser.follow(await browser.submit(login, /\/login$/, { email: RESIDENT, password: STRONG_PASSWORD }), (u) =>
      u.href.startsWith(redirectUri),
    );
    if (!next.location?.startsWith(redirectUri))
      next = await browser.follow(await browser.submit(next, /\/consent$/), (u) => u.href.startsWith(redirectUri));
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl(next), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    expect(tokens.claims()?.iss).toBe(glc.config.issuer);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(info.email).toBe(RESIDENT);
  });

  it('a DPO reads the anonymous statistics by keyboard: SVG charts with their tables, « < 10 », CSV', async () => {
    const glc = suite.glc;
    await createResident(glc, 'statistiques@grandlyon.fr');
    await glc.services.admin.grant('statistiques@grandlyon.fr', 'dpo', 'test');
    const now = new Date();
    for (let i = 0; i < 12; i++) await glc.services.statistics.count({ kind: 'login', clientId: null, detail: 'password' }, now);
    for (let i = 0; i < 3; i++) await glc.services.statistics.count({ kind: 'deletion', detail: 'self' }, now);
    const context = await suite.chromium.newContext({ locale: 'fr-FR', bypassCSP: true, acceptDownloads: true });
    const page = await context.newPage();
    await consoleLogin(page, 'statistiques@grandlyon.fr');
    await follow(page, 'a[href="/admin/statistiques"]');
    // No script on the page (the charts are SVG drawn by the server); axe is injected after.
    expect(await page.locator('script').count()).toBe(0);
    await audit(page, 'statistiques');
    expect(await page.locator('section svg[role="img"] title').count()).toBeGreaterThan(10);
    const deletions = (await page.locator('section', { hasText: 'Comptes supprimés par l’habitant' }).textContent())!.replace(/\s+/g, ' ');
    expect(deletions).toContain('< 10');
    // The data tables scroll inside their own focusable region, not the page (checked at 375 px by audit).
    await tabTo(page, 'a[href="/admin/statistiques.csv"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .replace(/^\ufeff/, '')
      .split('\r\n');
    expect(csv[0]).toBe('indicateur;libelle;service;periode;valeur');
    expect(csv.filter((l) => l.startsWith('deletion.self;') && l.endsWith(';3'))).toEqual([]);
    await context.close();
  });

  it('axe-core: no violation on any console page met', () => {
    expect(audited.size).toBeGreaterThanOrEqual(15);
    expect(problems).toEqual([]);
  });
});

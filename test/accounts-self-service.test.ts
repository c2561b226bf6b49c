// Self-service through real HTTP: email change both ways, password change ending the other
// sessions, forgotten password links (expired, reused, forged), security page, « me déconnecter
// partout », recent-login rule, and throttling that engages and releases (time moved by `now`).
import { listSessions } from '../src/oidc/sessions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGlc, STRONG_PASSWORD, type TestGlc } from './support/glc.js';
import { Browser, decode } from './support/browser.js';
import { ageSessions, createResident, residentBrowser, signIn, text } from './accounts-support.js';
import type { SelfService } from '../src/accounts/self-service.js';

let glc: TestGlc;
let self: SelfService;
beforeAll(async () => {
  glc = await startTestGlc();
  self = glc.services.selfService;
});
afterAll(async () => {
  await glc?.close();
});

const NEW_PASSWORD = 'violet elephant dances slowly 7';
const mailsTo = (to: string) => glc.mails().filter((m) => m.to === to);
const link = (to: string, pattern: RegExp) => decode(glc.linkInLastMail(to, pattern));

describe('email change', () => {
  it('sends a link to the new address, tells the old one, and switches only when the link is used', async () => {
    const account = await createResident(glc, 'ancienne@example.fr');
    const { browser } = await residentBrowser(glc, 'ancienne@example.fr');
    const form = await browser.get('/compte/adresse-electronique');
    expect(form.status).toBe(200);
    const sent = await browser.submit(form, /adresse-electronique$/, { email: 'Nouvelle@Example.fr' });
    expect(sent.status).toBe(200);
    expect(text(sent.html)).toContain('Nouvelle@Example.fr');
    expect(mailsTo('ancienne@example.fr')[0]!.subject).toMatch(/Demande de changement/);
    expect(mailsTo('ancienne@example.fr')[0]!.text).toContain('N•••@Example.fr');
    // Until the link is used, the old address stays.
    expect((await glc.services.accountStore.findById(account.id))!.email).toBe('ancienne@example.fr');

    const confirm = link('Nouvelle@Example.fr', /http\S+\/compte\/adresse-electronique\/confirmer\S+/);
    const done = await new Browser(glc.config.issuer).get(confirm); // works from another browser
    expect(done.status).toBe(200);
    expect(text(done.html)).toContain('Votre nouvelle adresse est confirmée');
    const after = (await glc.services.accountStore.findById(account.id))!;
    expect(after.email).toBe('Nouvelle@Example.fr');
    expect(mailsTo('ancienne@example.fr')[0]!.subject).toMatch(/a été modifiée/);
    // The link works once.
    expect((await new Browser(glc.config.issuer).get(confirm)).status).toBe(400);
    // The resident now logs in with the new address.
    await signIn(glc, new Browser(glc.config.issuer), 'nouvelle@example.fr');
  });

  it('leaves the address unchanged when the link is not used, is forged or the address got taken meanwhile', async () => {
    const account = await createResident(glc, 'garde@example.fr');
    const { browser } = await residentBrowser(glc, 'garde@example.fr');
    await browser.submit(await browser.get('/compte/adresse-electronique'), /adresse-electronique$/, { email: 'convoitee@example.fr' });
    const confirm = link('convoitee@example.fr', /http\S+\/confirmer\S+/);
    const forged = await browser.get('/compte/adresse-electronique/confirmer?jeton=' + 'A'.repeat(43));
    expect(forged.status).toBe(400);
    expect(text(forged.html)).toContain('Lien expiré ou déjà utilisé');
    await createResident(glc, 'convoitee@example.fr');
    const taken = await browser.get(confirm);
    expect(taken.status).toBe(400);
    expect(text(taken.html)).toContain('Adresse déjà utilisée');
    expect((await glc.services.accountStore.findById(account.id))!.email).toBe('garde@example.fr');

    // Asking for an address that already has an account: same page, its owner is told by mail.
    const again = await browser.submit(await browser.get('/compte/adresse-electronique'), /adresse-electronique$/, {
      email: 'convoitee@example.fr',
    });
    expect(again.status).toBe(200);
    expect(mailsTo('convoitee@example.fr')[0]!.subject).toMatch(/Demande concernant votre adresse/);
    // Invalid address: French message next to the field.
    const invalid = await browser.submit(await browser.get('/compte/adresse-electronique'), /adresse-electronique$/, {
      email: 'pas-une-adresse',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.html).toContain('id="email-erreur"');
  });

  it('asks for a fresh login when the last one is older than 10 minutes, and needs the CSRF token', async () => {
    const account = await createResident(glc, 'ancien-login@example.fr');
    const { browser } = await residentBrowser(glc, 'ancien-login@example.fr');
    const form = await browser.get('/compte/adresse-electronique');
    expect((await browser.post('/compte/adresse-electronique', { email: 'x@example.fr' })).status).toBe(403); // no CSRF token
    await ageSessions(glc, account.id, 11 * 60);
    for (const path of ['/compte/adresse-electronique', '/compte/mot-de-passe', '/compte/mes-donnees', '/compte/supprimer']) {
      const res = await browser.get(path);
      expect(res.status, path).toBe(302);
      expect(res.location, path).toContain('reauth=1');
    }
    const post = await browser.submit(form, /adresse-electronique$/, { email: 'x@example.fr' });
    expect(post.status).toBe(302);
    expect(post.location).toContain('reauth=1');
    // Re-authentication: prompt=login shows the login page again, then back to the page.
    const login = await browser.follow(await browser.get(post.location!));
    expect(login.html).toMatch(/\/login"/);
    const back = await browser.follow(
      await browser.submit(login, /\/login$/, { email: 'ancien-login@example.fr', password: STRONG_PASSWORD }),
    );
    expect(back.url).toMatch(/\/compte\/adresse-electronique$/);
    expect(back.status).toBe(200);
  });
});

describe('password', () => {
  it('changes the password with the current one, ends every other session, keeps this one', async () => {
    const account = await createResident(glc, 'mdp@example.fr');
    const { browser: here } = await residentBrowser(glc, 'mdp@example.fr');
    const { browser: elsewhere } = await residentBrowser(glc, 'mdp@example.fr');
    expect((await listSessions(glc.services.db, account.id)).length).toBe(2);
    const form = await here.get('/compte/mot-de-passe');
    const wrong = await here.submit(form, /mot-de-passe$/, {
      current: 'not the password at all',
      password: NEW_PASSWORD,
      confirmation: NEW_PASSWORD,
    });
    expect(wrong.status).toBe(400);
    expect(text(wrong.html)).toContain('Le mot de passe actuel est incorrect');
    const weak = await here.submit(form, /mot-de-passe$/, {
      current: STRONG_PASSWORD,
      password: 'azertyuiop12',
      confirmation: 'azertyuiop12',
    });
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('id="password-erreur"');
    const ok = await here.submit(form, /mot-de-passe$/, { current: STRONG_PASSWORD, password: NEW_PASSWORD, confirmation: NEW_PASSWORD });
    expect(ok.status).toBe(303);
    expect((await here.get('/compte')).status).toBe(200); // this session stays
    const other = await elsewhere.get('/compte');
    expect(other.status).toBe(302); // the other one ended
    expect(other.location).toMatch(/^\/compte\/connexion/);
    expect((await listSessions(glc.services.db, account.id)).length).toBe(1);
    expect(mailsTo('mdp@example.fr')[0]!.subject).toMatch(/mot de passe a été modifié/);
    await signIn(glc, new Browser(glc.config.issuer), 'mdp@example.fr', '/compte', NEW_PASSWORD);
  });

  it('resets a forgotten password with a one-hour single-use link, same answer for unknown addresses', async () => {
    const account = await createResident(glc, 'oubli@example.fr');
    const { browser: open } = await residentBrowser(glc, 'oubli@example.fr');
    const browser = new Browser(glc.config.issuer);
    const page = await browser.get('/mot-de-passe-oublie');
    expect(page.status).toBe(200);
    const known = await browser.submit(page, /mot-de-passe-oublie$/, { email: 'oubli@example.fr' });
    const unknown = await browser.submit(page, /mot-de-passe-oublie$/, { email: 'personne@example.fr' });
    expect(known.status).toBe(200);
    expect(text(unknown.html)).toBe(text(known.html).replace(/glc\.csrf/g, ''));
    await glc.services.accounts.settled(); // the link is made and sent after the answer
    expect(mailsTo('personne@example.fr')).toHaveLength(0);
    const resetLink = link('oubli@example.fr', /http\S+\/mot-de-passe-oublie\/nouveau\S+/);

    const form = await browser.get(resetLink);
    expect(form.status).toBe(200);
    const mismatch = await browser.submit(form, /nouveau$/, { password: NEW_PASSWORD, confirmation: 'something else entirely' });
    expect(mismatch.status).toBe(400); // the link is not spent by a refused form
    const done = await browser.submit(form, /nouveau$/, { password: NEW_PASSWORD, confirmation: NEW_PASSWORD });
    expect(done.status).toBe(200);
    expect(text(done.html)).toContain('Mot de passe modifié');
    expect((await open.get('/compte')).status).toBe(302); // every session ended
    // Reused link: refused, on GET and on POST.
    expect((await browser.get(resetLink)).status).toBe(400);
    const reused = await browser.submit(form, /nouveau$/, {
      password: 'another strong phrase for me 9',
      confirmation: 'another strong phrase for me 9',
    });
    expect(reused.status).toBe(400);
    expect(text(reused.html)).toContain('Lien expiré ou déjà utilisé');
    // Forged link.
    expect((await browser.get('/mot-de-passe-oublie/nouveau?jeton=forged')).status).toBe(400);
    await signIn(glc, new Browser(glc.config.issuer), 'oubli@example.fr', '/compte', NEW_PASSWORD);
    const events = (await glc.services.accountStore.listEvents(account.id)).map((e) => e.type);
    expect(events).toContain('password_reset');
  });

  it('refuses a reset link after one hour', async () => {
    await createResident(glc, 'expire@example.fr');
    await self.requestPasswordReset({ email: 'expire@example.fr', ip: '203.0.113.9' }, new Date());
    await glc.services.accounts.settled();
    const token = new URL(link('expire@example.fr', /http\S+\/nouveau\S+/)).searchParams.get('jeton')!;
    const later = new Date(Date.now() + 61 * 60_000);
    expect(await self.isResetLinkValid(token, later)).toBe(false);
    expect(await self.resetPassword({ token, password: NEW_PASSWORD, confirmation: NEW_PASSWORD }, later)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await self.isResetLinkValid(token, new Date(Date.now() + 59 * 60_000))).toBe(true);
  });
});

describe('security page', () => {
  it('lists recent activity and open sessions, and « me déconnecter partout » ends them all', async () => {
    const account = await createResident(glc, 'securite@example.fr');
    const { browser: a } = await residentBrowser(glc, 'securite@example.fr');
    const { browser: b } = await residentBrowser(glc, 'securite@example.fr');
    await glc.services.accountStore.recordEvent(account.id, 'consent_given', { clientName: 'Toodego' });
    const page = await a.get('/compte/securite');
    const content = text(page.html);
    expect(content).toContain('Connexion (mot de passe)');
    expect(content).toContain('Consentement donné : Toodego');
    expect(content).toContain('Cette session (cet appareil)');
    expect(content).toContain('Autre session');
    expect(content).toContain('connexion par mot de passe');
    const out = await a.submit(page, /deconnexion-partout$/);
    expect(out.status).toBe(303);
    expect(text((await a.get(out.location!)).html)).toContain('Toutes les sessions de votre compte sont fermées');
    expect((await a.get('/compte')).status).toBe(302);
    expect((await b.get('/compte')).status).toBe(302);
    expect(await listSessions(glc.services.db, account.id)).toHaveLength(0);
  });
});

describe('throttling', () => {
  it('blocks login after repeated failures with a French retry time, and releases when the delay is over', async () => {
    await createResident(glc, 'bloque@example.fr');
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get('/compte'));
    for (let i = 0; i < 5; i++) {
      const res = await browser.submit(login, /\/login$/, { email: 'bloque@example.fr', password: 'wrong password number ' + i });
      expect(res.status).toBe(401);
    }
    const blocked = await browser.submit(login, /\/login$/, { email: 'bloque@example.fr', password: STRONG_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(text(blocked.html)).toMatch(/Trop de tentatives de connexion.*Vous pourrez réessayer à partir du \d{1,2} \S+ \d{4}/);
    // 30 s later (time moved by parameter) the account is free again; more failures block longer.
    const soon = new Date(Date.now() + 31_000);
    expect((await glc.services.accounts.logIn({ email: 'bloque@example.fr', password: 'still wrong', ip: '198.51.100.1' }, soon)).ok).toBe(
      false,
    );
    const after = await glc.services.accounts.logIn(
      { email: 'bloque@example.fr', password: STRONG_PASSWORD, ip: '198.51.100.1' },
      new Date(soon.getTime() + 61_000),
    );
    expect(after.ok).toBe(true);
  });

  it('limits forgotten-password requests per address and per IP, with the time to retry', async () => {
    await createResident(glc, 'limite@example.fr');
    const browser = new Browser(glc.config.issuer);
    const page = await browser.get('/mot-de-passe-oublie');
    for (let i = 0; i < 3; i++)
      expect((await browser.submit(page, /mot-de-passe-oublie$/, { email: 'limite@example.fr' })).status).toBe(200);
    const blocked = await browser.submit(page, /mot-de-passe-oublie$/, { email: 'limite@example.fr' });
    expect(blocked.status).toBe(429);
    expect(text(blocked.html)).toMatch(/réessayez à partir du \d{1,2} \S+ \d{4}/);
    const inOneHour = new Date(Date.now() + 3600_000 + 1000);
    expect((await self.requestPasswordReset({ email: 'limite@example.fr', ip: '198.51.100.2' }, inOneHour)).ok).toBe(true);
    // Per IP: 10 requests an hour, whatever the addresses.
    const ip = '198.51.100.3';
    for (let i = 0; i < 10; i++) expect((await self.requestPasswordReset({ email: `n${i}@example.fr`, ip }, new Date())).ok).toBe(true);
    expect((await self.requestPasswordReset({ email: 'n10@example.fr', ip }, new Date())).ok).toBe(false);
  });

  it('limits the emails sent to one recipient', async () => {
    const account = await createResident(glc, 'courriels@example.fr');
    const now = new Date();
    const results = [];
    for (let i = 0; i < 6; i++)
      results.push(await self.sendMail('courriels@example.fr', 'password-changed', {}, { accountId: account.id, ip: '198.51.100.4' }, now));
    expect(results).toEqual([true, true, true, true, true, false]);
    expect(
      await self.sendMail(
        'courriels@example.fr',
        'password-changed',
        {},
        { accountId: account.id },
        new Date(now.getTime() + 3600_000 + 1000),
      ),
    ).toBe(true);
  });
});

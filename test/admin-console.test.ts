// The back-office console over real HTTP and PostgreSQL: staff login with TOTP, roles enforced on
// the server, the help desk's actions journalled and shown to the resident, the DPO's CSV export,
// and `glc audit verify` catching a tampered entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { authenticator } from 'otplib';
import { runCli } from '../src/cli/main.js';
import { throttleKeys } from '../src/accounts/throttle-keys.js';
import { Browser, decode, type Page } from './support/browser.js';
import { startTestGlc, type TestGlc } from './support/glc.js';
import { createResident, residentBrowser, text } from './accounts-support.js';

let glc: TestGlc;
const RESIDENT = 'elodie.dupre@example.fr';

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(
    args,
    (t) => {
      out += t;
    },
    { services: glc.services },
  );
  return { code, out };
}

/** A staff member's browser: password step, then TOTP enrolment (or a code); returns the secret. */
async function staffLogin(email: string, secret?: string): Promise<{ browser: Browser; secret: string; code: string; codes: string[] }> {
  const browser = new Browser(glc.config.issuer);
  const login = await browser.follow(await browser.get('/admin'));
  expect(login.url).toMatch(/\/admin\/connexion$/);
  const factorPage = await browser.follow(
    await browser.submit(login, /\/admin\/connexion$/, { email, password: 'correct horse battery staple 42' }),
  );
  expect(factorPage.url).toMatch(/\/admin\/second-facteur$/);
  const shown = /id="totp-secret">([A-Z2-7]+)</.exec(factorPage.html)?.[1];
  const key = secret ?? shown!;
  expect(key).toBeTruthy();
  // A second login: the next time step (the current one may be used already: codes are single-use).
  const code = authenticator.clone({ epoch: Date.now() + (secret ? 30_000 : 0) }).generate(key);
  const done = await browser.submit(factorPage, /second-facteur$/, { code });
  const codes = [...done.html.matchAll(/<code>([0-9a-f-]+)<\/code>/g)].map((m) => m[1]!);
  return { browser, secret: key, code, codes };
}

async function consult(browser: Browser, accountId: string, motif: string): Promise<Page> {
  const form = await browser.get(`/admin/comptes/${accountId}`);
  return browser.submit(form, new RegExp(`/admin/comptes/${accountId}$`), { motif });
}

let residentId: string;
let agent: Awaited<ReturnType<typeof staffLogin>>;

beforeAll(async () => {
  glc = await startTestGlc();
  residentId = (await createResident(glc, RESIDENT, { given_name: 'Élodie', family_name: 'DUPRÉ', birthdate: '1985-03-02' })).id;
  for (const [email, role] of [
    ['agent@grandlyon.fr', 'assistance'],
    ['dpo@grandlyon.fr', 'dpo'],
    ['ops@grandlyon.fr', 'admin'],
  ] as const) {
    await createResident(glc, email);
    expect((await cli('staff', 'grant', email, '--role', role)).code).toBe(0);
  }
  await createResident(glc, 'nobody@example.fr');
}, 60_000);
afterAll(() => glc?.close());

describe('console', () => {
  it('refuses a GLC account without a role, and a staff member without the second factor', async () => {
    const browser = new Browser(glc.config.issuer);
    const login = await browser.get('/admin/connexion');
    const refused = await browser.submit(login, /\/admin\/connexion$/, {
      email: 'nobody@example.fr',
      password: 'correct horse battery staple 42',
    });
    expect(refused.status).toBe(401);
    expect(browser.cookie('glc.admin')).toBeUndefined();

    const staff = new Browser(glc.config.issuer);
    const step1 = await staff.submit(await staff.get('/admin/connexion'), /\/admin\/connexion$/, {
      email: 'agent@grandlyon.fr',
      password: 'correct horse battery staple 42',
    });
    expect(step1.location).toBe('/admin/second-facteur');
    for (const path of ['/admin', '/admin/comptes?q=dup', `/admin/comptes/${residentId}`]) {
      const page = await staff.get(path);
      expect(page.status).toBe(302);
      expect(page.location).toBe('/admin/second-facteur');
    }
    const wrong = await staff.submit(await staff.get('/admin/second-facteur'), /second-facteur$/, { code: '000000' });
    expect(wrong.status).toBe(400);
    expect((await staff.get('/admin')).location).toBe('/admin/second-facteur');
    // The resident's session cookie is not a staff session: /admin asks the console login.
    const { browser: resident } = await residentBrowser(glc, 'agent@grandlyon.fr');
    expect((await resident.get('/admin/comptes')).location).toBe('/admin/connexion');
  });

  it('enrols TOTP with recovery codes; a code is accepted once; a recovery code works once', async () => {
    const enrolPage = new Browser(glc.config.issuer);
    const enrol = await enrolPage.follow(
      await enrolPage.submit(await enrolPage.get('/admin/connexion'), /connexion$/, {
        email: 'agent@grandlyon.fr',
        password: 'correct horse battery staple 42',
      }),
    );
    expect(enrol.html).toMatch(/<svg role="img" aria-label="QR code[^"]*"[^>]*viewBox/);
    expect(decode(/href="(otpauth:[^"]+)"/.exec(enrol.html)![1]!)).toMatch(/^otpauth:\/\/totp\/.+secret=[A-Z2-7]+/);
    agent = await staffLogin('agent@grandlyon.fr');
    expect(agent.codes).toHaveLength(10);
    const stored = await glc.services.db.selectFrom('staff_second_factors').selectAll().executeTakeFirstOrThrow();
    expect(stored.totp_secret_encrypted).not.toContain(agent.secret);
    expect(JSON.stringify(stored.recovery_codes)).not.toContain(agent.codes[0]!);
    expect((await agent.browser.get('/admin')).status).toBe(200);

    // Second browser: the same (already used) TOTP code is refused; a recovery code passes once.
    const other = new Browser(glc.config.issuer);
    const step = await other.follow(
      await other.submit(await other.get('/admin/connexion'), /connexion$/, {
        email: 'agent@grandlyon.fr',
        password: 'correct horse battery staple 42',
      }),
    );
    expect(step.html).not.toContain('totp-secret');
    // The very code the first login used (a fresh one would pass if the 30-second step had turned meanwhile).
    expect((await other.submit(step, /second-facteur$/, { code: agent.code })).status).toBe(400);
    expect((await other.submit(await other.get('/admin/second-facteur'), /second-facteur$/, { code: agent.codes[0]! })).status).toBe(303);
    const third = new Browser(glc.config.issuer);
    await third.submit(await third.get('/admin/connexion'), /connexion$/, {
      email: 'agent@grandlyon.fr',
      password: 'correct horse battery staple 42',
    });
    expect((await third.submit(await third.get('/admin/second-facteur'), /second-facteur$/, { code: agent.codes[0]! })).status).toBe(400);
  });

  it('an agent finds a resident, lifts a block and sends a reset mail; the resident sees both', async () => {
    for (let i = 0; i < 6; i++)
      await glc.services.accounts.logIn({ email: RESIDENT, password: 'wrong wrong wrong', ip: '198.51.100.7' }, new Date());
    expect(await glc.services.throttle.blockedUntil([throttleKeys.loginEmail(RESIDENT)], new Date())).not.toBeNull();

    expect((await agent.browser.get('/admin/comptes?q=x')).html).toContain('au moins 2 caractères');
    for (const q of ['elo', 'DUPRE', 'dupré', 'elodie.du', '02/03/1985', residentId.slice(0, 8)]) {
      const results = await agent.browser.get(`/admin/comptes?${new URLSearchParams({ q })}`);
      expect(results.html, q).toContain(`/admin/comptes/${residentId}`);
    }
    expect((await agent.browser.get('/admin/comptes?q=zzzz')).html).toContain('Aucun compte ne correspond');

    const noReason = await agent.browser.submit(await agent.browser.get(`/admin/comptes/${residentId}`), /comptes\/[0-9a-f-]+$/, {
      motif: '',
    });
    expect(noReason.status).toBe(400);
    const view = await consult(agent.browser, residentId, 'appel : connexion impossible');
    expect(view.status).toBe(200);
    expect(text(view.html)).toMatch(/bloqué jusqu’au/);
    expect(text(view.html)).toMatch(/Avertissements d’inactivité envoyés aucun/);
    expect(text(view.html)).toMatch(/Suppression pour inactivité prévue le \d+ \S+ \d{4}/);

    const lifted = await agent.browser.submit(view, /\/debloquer$/, { motif: 'appel : connexion impossible' });
    expect(lifted.status).toBe(200);
    expect(await glc.services.throttle.blockedUntil([throttleKeys.loginEmail(RESIDENT)], new Date())).toBeNull();
    const reset = await agent.browser.submit(view, /\/reinitialisation$/, { motif: 'mot de passe oublié' });
    expect(reset.status).toBe(200);
    expect(glc.mails()[0]?.to).toBe(RESIDENT);
    expect(glc.linkInLastMail(RESIDENT, /http\S+mot-de-passe-oublie\/nouveau\S+/)).toBeTruthy();

    const { browser } = await residentBrowser(glc, RESIDENT);
    const security = text((await browser.get('/compte/securite')).html).replace(/&nbsp;/g, ' ');
    expect(security).toMatch(/L’assistance de GrandLyon Connect a consulté votre compte le .+ \(motif : appel : connexion impossible\)/);
    expect(security).toMatch(
      /L’assistance de GrandLyon Connect a levé le blocage temporaire des connexions à votre compte le .+ \(motif : appel : connexion impossible\)/,
    );
    expect(security).toMatch(/vous a envoyé un courriel de réinitialisation du mot de passe le .+ \(motif : mot de passe oublié\)/);
  });

  it('an agent cannot reach services, keys or staff: 403 on GET and on a forged POST, nothing changed', async () => {
    for (const path of [
      '/admin/services',
      '/admin/cles',
      '/admin/taches',
      '/admin/personnel',
      '/admin/journal',
      '/admin/journal.csv',
      '/admin/verifications',
    ]) {
      expect((await agent.browser.get(path)).status, path).toBe(403);
    }
    const csrf = decode(/name="_csrf" value="([^"]+)"/.exec((await agent.browser.get('/admin')).html)![1]!);
    const keysBefore = await glc.services.keys.list(true);
    const rolesBefore = await glc.services.admin.store.listStaff();
    expect((await agent.browser.post('/admin/cles/rotation', { _csrf: csrf })).status).toBe(403);
    expect((await agent.browser.post('/admin/cles/retrait', { _csrf: csrf })).status).toBe(403);
    expect((await agent.browser.post('/admin/services', { _csrf: csrf, name: 'Forgé', redirectUris: 'https://x.example/cb' })).status).toBe(
      403,
    );
    expect((await agent.browser.post(`/admin/comptes/${residentId}/export`, { _csrf: csrf, motif: 'curiosité' })).status).toBe(403);
    expect(
      (
        await agent.browser.post('/admin/personnel', {
          _csrf: csrf,
          email: 'agent@grandlyon.fr',
          role: 'admin',
          operation: 'attribuer',
          motif: 'x',
        })
      ).status,
    ).toBe(403);
    expect(await glc.services.keys.list(true)).toEqual(keysBefore);
    expect((await glc.services.clients.list()).map((c) => c.name)).not.toContain('Forgé');
    expect(await glc.services.db.selectFrom('audit_journal').select('seq').where('action', '=', 'account_exported').execute()).toEqual([]);
    expect(await glc.services.admin.store.listStaff()).toEqual(rolesBefore);
    // The DPO reads accounts but does not act on them.
    const dpo = await staffLogin('dpo@grandlyon.fr');
    expect((await dpo.browser.get('/admin/franceconnect')).status).toBe(403);
    expect((await dpo.browser.get('/admin/demandes')).status).toBe(403);
    expect(
      (
        await dpo.browser.post(`/admin/comptes/${residentId}/deconnexion`, {
          _csrf: decode(/name="_csrf" value="([^"]+)"/.exec((await dpo.browser.get('/admin')).html)![1]!),
          motif: 'essai',
        })
      ).status,
    ).toBe(403);
    // Without a CSRF token, even the right role is refused.
    expect((await agent.browser.post(`/admin/comptes/${residentId}/deconnexion`, { motif: 'essai' })).status).toBe(403);
  });

  it('an agent settles a FranceConnect recovery request from the queue (same checks as the CLI)', async () => {
    const fcResident = await createResident(glc, 'fc.only@example.fr');
    const db = glc.services.db;
    await db
      .insertInto('franceconnect_links')
      .values({ account_id: fcResident.id, sub: 'ancien-sub', linked_at: new Date(), last_login_at: new Date() })
      .execute();
    await db
      .insertInto('franceconnect_recovery_requests')
      .values({
        reference: 'FC-TEST-0001',
        account_id: fcResident.id,
        new_sub: 'nouveau-sub',
        old_sub_hash: 'h1',
        new_sub_hash: 'h2',
        identity: null,
        expires_at: new Date(Date.now() + 86_400_000),
        resolved_at: null,
      })
      .execute();
    await db
      .insertInto('franceconnect_recovery_requests')
      .values({
        reference: 'FC-TEST-0002',
        account_id: null,
        new_sub: 'autre-sub',
        old_sub_hash: null,
        new_sub_hash: 'h3',
        identity: null,
        expires_at: new Date(Date.now() + 86_400_000),
        resolved_at: null,
      })
      .execute();
    const queue = await agent.browser.get('/admin/franceconnect');
    expect(queue.status).toBe(200);
    expect(queue.html).toContain('FC-TEST-0001');
    // A request naming no account: the account given must be linked and without password (CLI rule).
    const refused = await agent.browser.post('/admin/franceconnect', {
      _csrf: decode(/name="_csrf" value="([^"]+)"/.exec(queue.html)![1]!),
      reference: 'FC-TEST-0002',
      compte: residentId,
      motif: 'pièce d’identité vue au guichet',
    });
    expect(refused.status).toBe(409);
    expect(text(refused.html)).toContain('n’est pas relié à FranceConnect');
    const done = await agent.browser.post('/admin/franceconnect', {
      _csrf: decode(/name="_csrf" value="([^"]+)"/.exec(queue.html)![1]!),
      reference: 'fc-test-0001',
      compte: '',
      motif: 'pièce d’identité vue au guichet',
    });
    expect(done.status).toBe(200);
    expect(done.html).not.toContain('FC-TEST-0001</h2>');
    expect(
      (await db.selectFrom('franceconnect_links').select('sub').where('account_id', '=', fcResident.id).executeTakeFirstOrThrow()).sub,
    ).toBe('nouveau-sub');
    expect((await glc.services.audit.forResident(fcResident.id)).map((e) => e.text)).toContain(
      'L’assistance de GrandLyon Connect a relié votre compte à votre nouvelle identité FranceConnect',
    );
    const dpo = await glc.services.db.selectFrom('audit_journal').select('seq').where('action', '=', 'franceconnect_relinked').execute();
    expect(dpo).toHaveLength(1);
  });

  it('help requests are stored as tickets (and still mailed); an agent works them; closed ones are purged after the retention', async () => {
    const resident = new Browser(glc.config.issuer);
    const sent = await resident.submit(await resident.get('/aide/contact'), /\/aide\/contact$/, {
      email: 'habitant@example.fr',
      subject: 'connexion',
      message: 'Je ne reçois pas le courriel de confirmation.',
      reference: '',
    });
    expect(sent.status).toBe(200);
    expect(glc.mails().find((m) => m.to === glc.config.supportEmail)?.text).toContain('Je ne reçois pas le courriel de confirmation.');
    const list = await agent.browser.get('/admin/demandes?etat=new');
    const id = /href="\/admin\/demandes\/([0-9a-f-]{36})"/.exec(list.html)![1]!;
    const ticket = await agent.browser.get(`/admin/demandes/${id}`);
    expect(text(ticket.html)).toContain('Je ne reçois pas le courriel de confirmation.');
    expect(
      (await agent.browser.submit(ticket, /\/admin\/demandes\//, { etat: 'in_progress', note: 'Rappelé, courriel renvoyé.' })).status,
    ).toBe(303);
    const closed = await agent.browser.submit(await agent.browser.get(`/admin/demandes/${id}`), /\/admin\/demandes\//, {
      etat: 'closed',
      note: 'Résolu.',
    });
    expect(closed.status).toBe(303);
    const row = await glc.services.helpTickets.find(id);
    expect(row?.status).toBe('closed');
    expect(row?.notes.map((n) => n.text)).toEqual(['Rappelé, courriel renvoyé.', 'Résolu.']);
    expect(row?.notes[0]?.staff).toBe('agent@grandlyon.fr');
    expect(await glc.services.helpTickets.purge(new Date(Date.now() + 364 * 86_400_000))).toBe(0);
    expect(await glc.services.helpTickets.purge(new Date(Date.now() + 366 * 86_400_000))).toBe(1);
  });

  it('deleting an account asks the second factor again when the last one is older than 5 minutes', async () => {
    const victim = await createResident(glc, 'to.delete@example.fr');
    await glc.services.db
      .updateTable('staff_sessions')
      .set({ second_factor_at: new Date(Date.now() - 6 * 60_000) })
      .execute();
    const view = await consult(agent.browser, victim.id, 'demande de suppression par courrier');
    expect(view.html).toContain('id="code-suppression"');
    const refused = await agent.browser.submit(view, /\/suppression$/, { motif: 'demande écrite', code: '123456' });
    expect(refused.status).toBe(400);
    expect(await glc.services.accountStore.findById(victim.id)).toBeDefined();
    // A fresh code (the next time step: the current one may already be used).
    const next = authenticator.clone({ epoch: Date.now() + 30_000 }).generate(agent.secret);
    const done = await agent.browser.submit(view, /\/suppression$/, { motif: 'demande écrite', code: next });
    expect(done.status).toBe(200);
    expect(await glc.services.accountStore.findById(victim.id)).toBeUndefined();
  });

  it('the admin manages roles and sees services and keys; the console session ends after 15 idle minutes', async () => {
    const ops = await staffLogin('ops@grandlyon.fr');
    expect((await ops.browser.get('/admin/services')).status).toBe(200);
    // Services are found by name, organisation or client_id, whatever the accents.
    const media = await glc.services.clients.add({
      name: 'Médiathèque Lumière',
      organisation: 'Ville de Vénissieux',
      redirectUris: ['https://media.example/cb'],
      scope: 'openid',
    });
    await glc.services.clients.add({
      name: 'Piscine',
      organisation: 'Ville de Bron',
      redirectUris: ['https://piscine.example/cb'],
      scope: 'openid',
    });
    for (const q of ['mediatheque', 'VENISSIEUX lumiere', media.clientId.slice(0, 8)]) {
      const found = await ops.browser.get(`/admin/services?q=${encodeURIComponent(q)}`);
      expect(found.html, q).toContain('Médiathèque Lumière');
      expect(found.html, q).not.toContain('>Piscine<');
    }
    expect((await ops.browser.get('/admin/services?q=bibliobus')).html).toContain('Aucun service ne correspond.');
    expect((await ops.browser.get('/admin/cles')).status).toBe(200);
    expect((await ops.browser.get('/admin/comptes')).status).toBe(403);
    const jobs = await ops.browser.get('/admin/taches');
    expect(jobs.status).toBe(200);
    expect(jobs.html).toContain('admin-purge');
    expect(jobs.html).toContain('inactivity-purge');
    const staffPage = await ops.browser.get('/admin/personnel');
    const granted = await ops.browser.submit(staffPage, /\/admin\/personnel$/, {
      email: 'nobody@example.fr',
      role: 'assistance',
      operation: 'attribuer',
      motif: 'nouvelle recrue',
    });
    expect(granted.status).toBe(303);
    expect(await glc.services.admin.store.rolesOf((await glc.services.accountStore.findByEmail('nobody@example.fr'))!.id)).toEqual([
      'assistance',
    ]);

    // Revoking a role is sensitive: with a second factor older than 5 minutes, the code is asked again.
    const opsId0 = (await glc.services.accountStore.findByEmail('ops@grandlyon.fr'))!.id;
    const nobodyId = (await glc.services.accountStore.findByEmail('nobody@example.fr'))!.id;
    await glc.services.db
      .updateTable('staff_sessions')
      .set({ second_factor_at: new Date(Date.now() - 6 * 60_000) })
      .where('account_id', '=', opsId0)
      .execute();
    const confirm = await ops.browser.submit(await ops.browser.get('/admin/personnel'), /\/admin\/personnel$/, {
      email: 'nobody@example.fr',
      role: 'assistance',
      operation: 'retirer',
      motif: 'départ',
    });
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Confirmer avec le second facteur');
    expect(await glc.services.admin.store.rolesOf(nobodyId)).toEqual(['assistance']);
    expect((await ops.browser.submit(confirm, /\/admin\/personnel$/, { code: '000000' })).status).toBe(400);
    expect(await glc.services.admin.store.rolesOf(nobodyId)).toEqual(['assistance']);
    const confirmed = await ops.browser.submit(confirm, /\/admin\/personnel$/, {
      code: authenticator.clone({ epoch: Date.now() + 30_000 }).generate(ops.secret),
    });
    expect(confirmed.status).toBe(303);
    expect(await glc.services.admin.store.rolesOf(nobodyId)).toEqual([]);

    // Editing a service: glc client update's checks; a refused change changes nothing.
    const { clientId } = await glc.services.clients.add({
      name: 'Bibliothèque',
      redirectUris: ['https://bib.example.fr/cb'],
      scope: 'openid profile',
    });
    const edit = await ops.browser.get(`/admin/services/${clientId}`);
    expect(edit.status).toBe(200);
    const refusedEdit = await ops.browser.submit(edit, /\/admin\/services\/[^/]+$/, {
      redirectUris: 'pas-une-adresse',
      claimsRequired: 'email',
    });
    expect(refusedEdit.status).toBe(400);
    expect((await glc.services.clients.show(clientId)).metadata).toMatchObject({ redirect_uris: ['https://bib.example.fr/cb'] });
    const saved = await ops.browser.submit(edit, /\/admin\/services\/[^/]+$/, {
      name: 'Bibliothèques de Lyon',
      redirectUris: 'https://bib.example.fr/cb\nhttps://bib.example.fr/cb2',
    });
    expect(saved.status).toBe(303);
    const after = await glc.services.clients.show(clientId);
    expect(after.name).toBe('Bibliothèques de Lyon');
    expect(after.metadata).toMatchObject({ redirect_uris: ['https://bib.example.fr/cb', 'https://bib.example.fr/cb2'] });

    const opsId = (await glc.services.accountStore.findByEmail('ops@grandlyon.fr'))!.id;
    await glc.services.db
      .updateTable('staff_sessions')
      .set({ last_seen_at: new Date(Date.now() - 16 * 60_000) })
      .where('account_id', '=', opsId)
      .execute();
    expect((await ops.browser.get('/admin')).location).toBe('/admin/connexion');
  });

  it('the DPO filters and exports the journal as CSV; glc audit verify detects a tampered entry', async () => {
    const dpo = await staffLogin(
      'dpo@grandlyon.fr',
      await glc.services.db
        .selectFrom('staff_second_factors')
        .innerJoin('accounts', 'accounts.id', 'staff_second_factors.account_id')
        .select('totp_secret_encrypted')
        .where('accounts.email', '=', 'dpo@grandlyon.fr')
        .executeTakeFirstOrThrow()
        .then((r) => glc.services.secrets.decrypt(r.totp_secret_encrypted)),
    );
    const view = await consult(dpo.browser, residentId, 'demande d’accès RGPD n° 42');
    expect(view.html).not.toContain('/debloquer');
    const exported = await dpo.browser.submit(view, /\/export$/, { motif: 'demande d’accès RGPD n° 42' });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toMatch(/attachment; filename="export-compte-/);
    expect(exported.html).toContain(RESIDENT);
    const journal = await dpo.browser.get(`/admin/journal?${new URLSearchParams({ compte: residentId })}`);
    expect(journal.html).toContain('account_exported');
    expect(journal.status).toBe(200);
    expect(journal.html).toContain('throttle_lifted');
    const csv = await dpo.browser.get(`/admin/journal.csv?${new URLSearchParams({ action: 'reset_mail_sent' })}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = csv.html
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('numero;date;agent;role;action;compte;service;motif;requete;empreinte');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`agent@grandlyon.fr;assistance;reset_mail_sent;${residentId}`);
    const checks = (await dpo.browser.get('/admin/verifications')).html;
    expect(checks, checks.slice(checks.indexOf('<h1>'))).toMatch(/Intact&nbsp;: \d+ entrées\./);

    expect((await cli('audit', 'verify')).code).toBe(0);
    // The trigger refuses changes; an attacker with the database owner's rights disables it first.
    await expect(sql`update audit_journal set reason = 'autre' where seq = 2`.execute(glc.services.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_journal where seq = 2`.execute(glc.services.db)).rejects.toThrow(/append-only/);
    await sql`alter table audit_journal disable trigger audit_journal_append_only`.execute(glc.services.db);
    await sql`update audit_journal set reason = 'motif falsifié' where seq = 2`.execute(glc.services.db);
    await sql`alter table audit_journal enable trigger audit_journal_append_only`.execute(glc.services.db);
    const broken = await cli('audit', 'verify');
    expect(broken.code).not.toBe(0);
    expect(broken.out).toMatch(/entry #2: hash_mismatch/);
  });

  it('retention: the purge removes the oldest entries only and the rest still verifies', async () => {
    const total = await glc.services.db
      .selectFrom('audit_journal')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    // Entry 2 was tampered above: purge through it (entries 1-3 back-dated beyond the retention).
    await sql`alter table audit_journal disable trigger audit_journal_append_only`.execute(glc.services.db);
    await sql`update audit_journal set at = at - interval '400 days' where seq <= 3`.execute(glc.services.db);
    await sql`alter table audit_journal enable trigger audit_journal_append_only`.execute(glc.services.db);
    // (back-dating changed the hashes of 1-3; they are the ones purged)
    expect(await glc.services.audit.purge(new Date())).toBe(3);
    const report = await glc.services.audit.verify();
    expect(report.breaks, JSON.stringify(report.breaks)).toEqual([]);
    expect(report.entries).toBe(Number(total.n) - 3);
  });
  it('parallel: concurrent journal appends keep one unbroken chain; one TOTP code opens one session only', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        glc.services.audit.record(
          {
            staff_account_id: 'x',
            staff_email: 'agent@grandlyon.fr',
            role: 'assistance',
            action: 'account_viewed',
            target_account_id: residentId,
            target_client_id: null,
            reason: `parallèle ${i}`,
            request_id: `p${i}`,
          },
          new Date(),
        ),
      ),
    );
    const report = await glc.services.audit.verify();
    expect(report.breaks).toEqual([]);
    expect(report.ok).toBe(true);

    await createResident(glc, 'parallel@grandlyon.fr');
    await glc.services.admin.grant('parallel@grandlyon.fr', 'assistance', 'test');
    const first = await staffLogin('parallel@grandlyon.fr');
    const browsers = [new Browser(glc.config.issuer), new Browser(glc.config.issuer)];
    const pages = await Promise.all(
      browsers.map(async (b) =>
        b.follow(
          await b.submit(await b.get('/admin/connexion'), /connexion$/, {
            email: 'parallel@grandlyon.fr',
            password: 'correct horse battery staple 42',
          }),
        ),
      ),
    );
    const code = authenticator.clone({ epoch: Date.now() + 30_000 }).generate(first.secret);
    const answers = await Promise.all(browsers.map((b, i) => b.submit(pages[i]!, /second-facteur$/, { code })));
    expect(answers.map((a) => a.status).sort()).toEqual([303, 400]);
  });
  it('glc staff: grant/revoke/list, unknown address or role refused with the usage exit code', async () => {
    expect((await cli('staff', 'grant', 'inconnu@example.fr', '--role', 'admin')).code).toBe(2);
    expect((await cli('staff', 'grant', 'nobody@example.fr', '--role', 'superadmin')).code).toBe(2);
    expect((await cli('staff', 'grant', 'nobody@example.fr', '--role', 'dpo')).code).toBe(0);
    expect((await cli('staff', 'list')).out).toMatch(/nobody@example\.fr\s+dpo/);
    const revoked = await cli('staff', 'revoke', 'nobody@example.fr', '--role', 'dpo', '--json');
    expect(JSON.parse(revoked.out)).toEqual({ email: 'nobody@example.fr', role: 'dpo', removed: true });
    expect((await cli('staff', 'list')).out).not.toMatch(/nobody@example\.fr\s+dpo/);
  });
});

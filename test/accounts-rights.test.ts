// Data-protection rights through real HTTP: the export (complete, parseable, an attachment),
// the deletion of one's account (no row left but the deletion record, every session ended with
// back-channel logout, confirmation email), and the purge of never-confirmed sign-ups at day 7.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as jose from 'jose';
import { sql } from 'kysely';
import {
  authorizationRequest,
  callbackUrl,
  followToCallback,
  registerClient,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
  startBackchannelReceiver,
  type BackchannelReceiver,
  eventually,
} from './support/glc.js';
import { Browser, type Page } from './support/browser.js';
import { createResident, residentBrowser, text } from './accounts-support.js';

let glc: TestGlc;
let backchannel: BackchannelReceiver;

beforeAll(async () => {
  glc = await startTestGlc();
  backchannel = await startBackchannelReceiver();
});
afterAll(async () => {
  await backchannel?.close();
  await glc?.close();
});

/** The resident's browser (signed in to GLC) authorizes a service: its session now covers it. */
async function useService(browser: Browser, client: TestClient): Promise<void> {
  const pending = await authorizationRequest(client);
  let page: Page = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
  if (!page.location?.startsWith(client.redirectUri))
    page = await followToCallback(browser, await browser.submit(page, /\/consent$/), client.redirectUri);
  expect(callbackUrl(page).searchParams.get('code')).toBeTruthy();
}

describe('download my data', () => {
  it('gives one JSON attachment with identity, services, sessions and activity, and no secret', async () => {
    const account = await createResident(glc, 'export@example.fr', {
      given_name: 'Jean',
      family_name: 'MARTIN',
      preferred_username: 'DURAND',
      birthdate: '1981-03-12',
      gender: 'male',
      birthplace: '69123',
      birthcountry: '99100',
      phone_number: '+33612345678',
      address_street: '20 rue du Lac',
      address_postal_code: '69003',
      address_locality: 'Lyon',
      address_country: 'France',
    });
    const { browser } = await residentBrowser(glc, 'export@example.fr');
    const client = await registerClient(glc, { name: 'Toodego', redirectUris: ['http://127.0.0.1:9/export'] });
    await useService(browser, client);

    const page = await browser.get('/compte/mes-donnees');
    expect(page.status).toBe(200);
    expect((await browser.post('/compte/mes-donnees/telecharger', {})).status).toBe(403); // CSRF
    const res = await browser.submit(page, /telecharger$/);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="grandlyon-connect-mes-donnees-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
    const data = JSON.parse(res.html) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(data.format).toBe('glc-donnees-usager/1');
    expect(data.account).toMatchObject({ id: account.id, email: 'export@example.fr', has_password: true });
    expect(data.identity).toMatchObject({
      given_name: 'Jean',
      family_name: 'MARTIN',
      preferred_username: 'DURAND',
      birthdate: '1981-03-12',
      gender: 'male',
      birthplace: '69123',
      birthplace_name: 'Lyon (69)',
      birthcountry: '99100',
      birthcountry_name: 'France',
      phone_number: '+33612345678',
      address: { street_address: '20 rue du Lac', postal_code: '69003', locality: 'Lyon', country: 'France' },
      certified_by_franceconnect: [],
    });
    expect(data.services).toEqual(expect.arrayContaining([expect.objectContaining({ client_id: client.clientId, name: 'Toodego' })]));
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.sessions[0]).toMatchObject({ methods: ['pwd'] });
    expect(data.activity.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['login']));
    expect('franceconnect' in data && 'consents' in data).toBe(true);
    // What the FranceConnect and consent domains add, when they provide it.
    if ((glc.services.franceConnect as { exportFor?: unknown }).exportFor)
      expect(data.franceconnect).toMatchObject({ linked: false, certified: [] });
    if ((glc.services.consent as { exportFor?: unknown }).exportFor) expect(data.consents).not.toBeNull();
    // No secret: no password hash, no token.
    expect(res.html).not.toMatch(/\$argon2/);
    expect(res.html).not.toContain((await glc.services.accountStore.findById(account.id))!.password_hash!);
    const events = await glc.services.accountStore.listEvents(account.id);
    expect(events[0]!.type).toBe('data_exported');
  });
});

describe('delete my account', () => {
  it('needs the password and an explicit confirmation', async () => {
    const account = await createResident(glc, 'hesite@example.fr');
    const { browser } = await residentBrowser(glc, 'hesite@example.fr');
    const page = await browser.get('/compte/supprimer');
    expect(page.status).toBe(200);
    const noConfirm = await browser.submit(page, /supprimer$/, { password: STRONG_PASSWORD });
    expect(noConfirm.status).toBe(400);
    expect(noConfirm.html).toContain('id="confirm-erreur"');
    const wrong = await browser.submit(page, /supprimer$/, { password: 'not my password at all', confirm: 'oui' });
    expect(wrong.status).toBe(400);
    expect(text(wrong.html)).toContain('Le mot de passe est incorrect');
    expect(await glc.services.accountStore.findById(account.id)).toBeDefined();
  });

  it('deletes everything at once, ends every session with back-channel logout, and confirms by email', async () => {
    const email = 'partir@example.fr';
    const account = await createResident(glc, email, { given_name: 'Léa', family_name: 'PARTANT', birthdate: '1990-01-02' });
    const { browser } = await residentBrowser(glc, email);
    const { browser: phone } = await residentBrowser(glc, email);
    const client = await registerClient(glc, {
      name: 'Villeurbanne',
      redirectUris: ['http://127.0.0.1:9/partir'],
      backchannelLogoutUri: backchannel.url,
    });
    await useService(phone, client);
    await browser.submit(await browser.get('/compte/identite'), /identite$/, { phone_number: '0612345678' });
    await glc.services.selfService.requestPasswordReset({ email, ip: '203.0.113.7' }, new Date()); // a pending token and counters
    await browser.submit(await browser.get('/compte/adresse-electronique'), /adresse-electronique$/, { email: 'ailleurs@example.fr' });

    const before = backchannel.tokens.length;
    const page = await browser.get('/compte/supprimer');
    const done = await browser.submit(page, /supprimer$/, { password: STRONG_PASSWORD, confirm: 'oui' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/compte/compte-supprime');
    expect(text((await browser.get(done.location!)).html)).toContain('Votre compte est supprimé');

    // Every session ended: both browsers are signed out, the service got a logout token.
    expect((await browser.get('/compte')).status).toBe(302);
    expect((await phone.get('/compte')).status).toBe(302);
    await eventually(() => backchannel.tokens.length > before); // delivered by the queue's worker
    const logout = jose.decodeJwt(backchannel.tokens[backchannel.tokens.length - 1]!);
    expect(logout.aud).toBe(client.clientId);

    // No row of the resident anywhere, but the deletion record (which holds no account id).
    const tables = await sql<{
      table_name: string;
    }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(
      glc.services.db,
    );
    const leftovers: string[] = [];
    for (const { table_name } of tables.rows) {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table(table_name)} t where t::text ilike ${'%' + account.id + '%'} or t::text ilike ${'%' + email + '%'}`.execute(
        glc.services.db,
      );
      if (rows[0]!.n > 0) leftovers.push(table_name);
    }
    expect(leftovers).toEqual([]);
    const hmac = (k: string) => glc.services.secrets.hmac('throttle', k);
    const counters = await glc.services.db
      .selectFrom('rate_limits')
      .select('key')
      .where(
        'key',
        'in',
        [
          `password:${account.id}`,
          `count:mail:${account.id}`,
          `count:mail:to:${email}`,
          `count:reset:email:${email}`,
          `count:email-change:${account.id}`,
        ].map(hmac),
      )
      .execute();
    expect(counters).toEqual([]);
    // The confirmation email.
    expect(glc.mails().find((m) => m.to === email)!.subject).toMatch(/a été supprimé/);
    // The same email can sign up again.
    expect(await glc.services.accountStore.findByEmail(email)).toBeUndefined();
  });
});

describe('unverified sign-ups', () => {
  it('are removed after 7 days, confirmed accounts and recent sign-ups stay', async () => {
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get('/compte'));
    const signupPage = await browser.get(new URL(/href="([^"]*\/inscription)"/.exec(login.html)![1]!, login.url).href);
    const res = await browser.submit(signupPage, /inscription$/, {
      email: 'jamais@example.fr',
      password: STRONG_PASSWORD,
      passwordConfirmation: STRONG_PASSWORD,
    });
    expect(res.status).toBe(200);
    await glc.services.accounts.settled(); // the account is made after the answer
    const unverified = (await glc.services.accountStore.findByEmail('jamais@example.fr'))!;
    expect(unverified.email_verified_at).toBeNull();
    const created = unverified.created_at.getTime();
    // A confirmed account created long before stays.
    const old = await createResident(glc, 'ancien-confirme@example.fr');
    await glc.services.db
      .updateTable('accounts')
      .set({ created_at: new Date(created - 30 * 86_400_000) } as never)
      .where('id', '=', old.id)
      .execute();
    const self = glc.services.selfService;
    expect(await self.purgeUnverifiedSignUps(new Date(created + 6 * 86_400_000 + 23 * 3600_000))).toBe(0);
    expect(await glc.services.accountStore.findById(unverified.id)).toBeDefined();
    expect(await self.purgeUnverifiedSignUps(new Date(created + 7 * 86_400_000 + 1000))).toBe(1);
    expect(await glc.services.accountStore.findById(unverified.id)).toBeUndefined();
    expect(await glc.services.accountStore.findById(old.id)).toBeDefined();
    expect(await glc.services.accountStore.findByEmail('export@example.fr')).toBeDefined();
  });
});

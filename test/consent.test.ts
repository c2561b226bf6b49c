// Per-service consent, end to end: real HTTP, real database, openid-client relying parties.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { sql } from 'kysely';
import {
  authorizationRequest,
  callbackUrl,
  registerClient,
  signUp,
  startTestGlc,
  STRONG_PASSWORD,
  type PendingAuthorization,
  type TestClient,
  type TestGlc,
  startBackchannelReceiver,
  type BackchannelReceiver,
  eventually,
} from './support/glc.js';
import { Browser, decode, type Page } from './support/browser.js';
import { runCli } from '../src/cli/main.js';

let glc: TestGlc;
let backchannel: BackchannelReceiver;
const DAY = 24 * 3600_000;
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(32, 1)]);

beforeAll(async () => {
  glc = await startTestGlc();
  backchannel = await startBackchannelReceiver();
}, 60_000);
afterAll(async () => {
  await backchannel?.close();
  await glc?.close();
});

interface Resident {
  browser: Browser;
  accountId: string;
}

/** A resident signed in to GLC (through the account area: one GLC session for every service). */
async function newResident(email: string, values: Record<string, string> = {}): Promise<Resident> {
  const browser = new Browser(glc.config.issuer);
  const login = await browser.follow(await browser.get('/compte'));
  await signUp(glc, browser, login, email, STRONG_PASSWORD);
  const account = (await glc.services.accountStore.findByEmail(email))!;
  await glc.services.accountStore.update(account.id, values);
  // Residents with names are certified as FranceConnect certifies them: verified_claims comes
  // from the real claim source, and the consent filter must apply after it.
  const certified = (['given_name', 'family_name', 'birthdate'] as const).filter((f) => values[f]);
  if (certified.length) {
    await glc.services.db
      .insertInto('franceconnect_certified_fields')
      .values(
        certified.map((field) => ({
          account_id: account.id,
          field,
          value: values[field]!,
          source: 'FranceConnect',
          acr: 'eidas1',
          certified_at: new Date('2026-01-01T00:00:00Z'),
        })),
      )
      .execute();
  }
  const home = await browser.follow(await browser.submit(await browser.get(login.url), /\/login$/, { email, password: STRONG_PASSWORD }));
  expect(home.url).toMatch(/\/compte$/);
  return { browser, accountId: account.id };
}

async function authorize(
  r: Resident,
  client: TestClient,
  params: Record<string, string> = {},
): Promise<{ pending: PendingAuthorization; page: Page }> {
  const pending = await authorizationRequest(client, params);
  const page = await r.browser.follow(await r.browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
  return { pending, page };
}

const isCallback = (page: Page, client: TestClient) => page.location?.startsWith(client.redirectUri) === true;

/** « Autoriser » with the optional data ticked (a real multi-valued form post). */
async function allow(r: Resident, page: Page, client: TestClient, optional: string[] = []): Promise<Page> {
  const form = /<form[^>]*action="([^"]*\/consent)"[^>]*>([\s\S]*?)<\/form>/.exec(page.html);
  if (!form) throw new Error(`no consent form on ${page.url}: ${page.html.slice(0, 300)}`);
  const body = new URLSearchParams();
  for (const m of form[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
    body.append(/name="([^"]*)"/.exec(m[0])![1]!, decode(/value="([^"]*)"/.exec(m[0])?.[1] ?? ''));
  }
  optional.forEach((o) => body.append('optional', o));
  const res = await r.browser.request(new URL(decode(form[1]!), page.url).href, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return r.browser.follow(res, (u) => u.href.startsWith(client.redirectUri));
}

async function tokens(client: TestClient, pending: PendingAuthorization, page: Page) {
  return oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
}

/** Authorizes, consenting if asked, and returns tokens. */
async function signIn(r: Resident, client: TestClient, params: Record<string, string> = {}, optional: string[] = []) {
  const { pending, page } = await authorize(r, client, params);
  const back = isCallback(page, client) ? page : await allow(r, page, client, optional);
  return tokens(client, pending, back);
}

const journal = async (accountId: string) => (await glc.services.consent.exportFor(accountId)).journal;

const CAMILLE = {
  given_name: 'Camille',
  family_name: 'DUBOIS',
  birthdate: '1990-05-17',
  phone_number: '+33612345678',
  gender: 'female',
  preferred_username: 'Martin',
};
let camille: Resident;
let mediatheque: TestClient;

describe('consent page', () => {
  beforeAll(async () => {
    camille = await newResident('camille@example.fr', CAMILLE);
    mediatheque = await registerClient(glc, {
      name: 'Médiathèque',
      organisation: 'Ville de Villeurbanne',
      scope: 'openid profile email phone',
      claimsRequired: ['given_name', 'family_name'],
      claimsOptional: ['email', 'phone_number', 'birthdate'],
      purpose: 'Gérer vos emprunts et vous prévenir quand un livre est disponible.',
      logo: { data: PNG, type: 'image/png' },
    });
  }, 60_000);

  it('first consent shows the service, its purpose and the data with values; partial consent releases only what was ticked', async () => {
    const { pending, page } = await authorize(camille, mediatheque, { scope: 'openid profile email phone' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('Médiathèque');
    expect(page.html).toContain('Ville de Villeurbanne');
    expect(page.html).toContain('Gérer vos emprunts');
    expect(page.html).toContain('Camille');
    expect(page.html).toContain('Certifié par FranceConnect');
    expect(page.html).toMatch(/<fieldset[\s\S]*<legend>[\s\S]*name="optional" value="email"/);
    for (const optional of ['email', 'phone_number', 'birthdate']) expect(page.html).toContain(`value="${optional}"`);
    expect(page.html).not.toMatch(/name="optional"[^>]*checked/); // nothing pre-ticked: consent is an act
    expect(page.html).not.toContain('value="given_name"');
    expect(page.html).not.toContain('value="gender"'); // not registered: never asked
    const logo = /src="(\/services\/[^"]+\/logo)"/.exec(page.html)![1]!;
    const image = await fetch(new URL(logo, glc.config.issuer));
    expect(image.headers.get('content-type')).toBe('image/png');

    const back = await allow(camille, page, mediatheque, ['email']);
    const t = await tokens(mediatheque, pending, back);
    const userinfo = await oidc.fetchUserInfo(mediatheque.config, t.access_token, t.claims()!.sub);
    expect(userinfo).toMatchObject({ given_name: 'Camille', family_name: 'DUBOIS', email: 'camille@example.fr', email_verified: true });
    for (const absent of ['phone_number', 'birthdate', 'gender', 'preferred_username', 'verified_claims'])
      expect(userinfo).not.toHaveProperty(absent);

    const entries = await journal(camille.accountId);
    expect(entries.map((e) => e.event)).toEqual(['granted']);
    expect(entries[0]!.detail).toMatchObject({
      claims: ['given_name', 'family_name', 'email'],
      declined: ['birthdate', 'phone_number'],
      method: 'web_form',
      request_version: 1,
    });
    expect(JSON.stringify(entries)).not.toMatch(/Camille|DUBOIS|camille@example/);

    // Same request again: no consent page, straight back to the service.
    const again = await authorize(camille, mediatheque, { scope: 'openid profile email phone' });
    expect(isCallback(again.page, mediatheque)).toBe(true);
  });

  it('shows the birthplace and the birth country by their names, not their INSEE codes', async () => {
    const dominique = await newResident('lyonnais@example.fr', { given_name: 'Dominique', birthplace: '69387', birthcountry: '99100' });
    const mairie = await registerClient(glc, {
      name: 'État civil',
      redirectUris: ['http://127.0.0.1:9/etat-civil'],
      scope: 'openid birth',
      claimsRequired: ['birthplace', 'birthcountry'],
      claimsOptional: [],
    });
    const { page } = await authorize(dominique, mairie, { scope: 'openid birth' });
    expect(page.status).toBe(200);
    const place = /<li id="donnee-birthplace">([\s\S]*?)<\/li>/.exec(page.html)![1]!;
    const country = /<li id="donnee-birthcountry">([\s\S]*?)<\/li>/.exec(page.html)![1]!;
    expect(place).toContain('Lyon 7e Arrondissement');
    expect(place).toContain('69387'); // the code too, as the service will receive it
    expect(country).toContain('France (99100)');
  });

  it('refusal sends access_denied to the service and records nothing', async () => {
    const other = await registerClient(glc, {
      name: 'Piscine',
      redirectUris: ['http://127.0.0.1:9/piscine'],
      claimsRequired: ['given_name'],
      claimsOptional: [],
      scope: 'openid profile',
    });
    const { pending, page } = await authorize(camille, other, { scope: 'openid profile' });
    const back = await camille.browser.follow(await camille.browser.submit(page, /\/abort$/), (u) => u.href.startsWith(other.redirectUri));
    await expect(tokens(other, pending, back)).rejects.toMatchObject({ error: 'access_denied' });
    expect((await glc.services.consent.exportFor(camille.accountId)).consents.map((c) => c.service.client_id)).not.toContain(
      other.clientId,
    );
  });

  it('asks only for the new data when a service asks for more', async () => {
    const portal = await registerClient(glc, {
      name: 'Portail',
      redirectUris: ['http://127.0.0.1:9/portail'],
      scope: 'openid profile email',
      claimsRequired: ['given_name', 'family_name'],
      claimsOptional: ['email'],
    });
    const first = await authorize(camille, portal, { scope: 'openid profile' });
    expect(first.page.html).toContain('Prénoms');
    expect(first.page.html).not.toContain('value="email"');
    await tokens(portal, first.pending, await allow(camille, first.page, portal));

    const more = await authorize(camille, portal, { scope: 'openid profile email' });
    expect(more.page.status).toBe(200);
    expect(more.page.html).toContain('value="email"');
    expect(more.page.html).toContain('demande de nouvelles informations');
    expect(more.page.html).not.toMatch(/<li id="donnee-given_name"/);
    const t = await tokens(portal, more.pending, await allow(camille, more.page, portal, ['email']));
    expect((await oidc.fetchUserInfo(portal.config, t.access_token, t.claims()!.sub)).email).toBe('camille@example.fr');
    const events = (await journal(camille.accountId)).filter((e) => e.client_id === portal.clientId);
    expect(events.map((e) => [e.event, e.detail.claims])).toEqual([
      ['granted', ['given_name', 'family_name']],
      ['extended', ['email']],
    ]);

    // The service changes its purpose: a new request version, asked again in full at the next login.
    await glc.services.clients.update(portal.clientId, { purpose: 'Nouvelle finalité : vous envoyer la lettre d’information.' });
    const changed = await authorize(camille, portal, { scope: 'openid profile email' });
    expect(changed.page.status).toBe(200);
    expect(changed.page.html).toContain('Nouvelle finalité');
    expect(changed.page.html).toMatch(/<li id="donnee-given_name"/);
    await tokens(portal, changed.pending, await allow(camille, changed.page, portal));
    const last = (await journal(camille.accountId)).filter((e) => e.client_id === portal.clientId).at(-1)!;
    expect(last).toMatchObject({
      event: 'granted',
      detail: { request_version: 2, claims: ['given_name', 'family_name'], declined: ['email'] },
    });
  });
});

describe('no release of unconsented claims', () => {
  it('never releases an unconsented claim, whatever the scopes and claims parameter (ID token, userinfo JSON and JWT, introspection)', async () => {
    const registration = {
      scope: 'openid profile email phone identite_certifiee',
      claimsRequired: ['given_name'],
      claimsOptional: ['email', 'phone_number', 'birthdate', 'verified_claims'],
    };
    const json = await registerClient(glc, { name: 'Service JSON', redirectUris: ['http://127.0.0.1:9/json'], ...registration });
    const jwt = await registerClient(glc, {
      name: 'Service JWT',
      redirectUris: ['http://127.0.0.1:9/jwt'],
      userinfoSignedAlg: 'ES256',
      ...registration,
    });
    const r = await newResident('dominique@example.fr', { ...CAMILLE, given_name: 'Dominique' });
    // Consents: given_name (required), email and verified_claims; refuses phone_number and birthdate.
    for (const client of [json, jwt]) await signIn(r, client, { scope: registration.scope }, ['email', 'verified_claims']);

    const everything = {
      phone_number: null,
      phone_number_verified: null,
      birthdate: null,
      gender: null,
      family_name: null,
      preferred_username: null,
      address: null,
      birthplace: null,
      email: null,
      given_name: null,
      verified_claims: { claims: { given_name: null, family_name: null, birthdate: null } },
    };
    const claimsParams = [
      undefined,
      JSON.stringify({ userinfo: everything, id_token: everything }),
      JSON.stringify({ id_token: { phone_number: null, birthdate: { essential: true } } }),
    ];
    const scopes = ['openid', 'openid profile', 'openid profile email phone', registration.scope];
    const forbidden = [
      'phone_number',
      'phone_number_verified',
      'birthdate',
      'gender',
      'family_name',
      'preferred_username',
      'address',
      'birthplace',
      'birthcountry',
    ];
    const check = (where: string, claims: Record<string, unknown>) => {
      for (const f of forbidden) expect(claims, `${where} ${f}`).not.toHaveProperty(f);
      const vc = claims.verified_claims as { claims: Record<string, unknown> } | undefined;
      if (vc) expect(Object.keys(vc.claims), `${where} verified_claims`).toEqual(['given_name']);
    };
    let combinations = 0;
    for (const client of [json, jwt]) {
      for (const scope of scopes) {
        for (const claims of claimsParams) {
          const where = `${client === json ? 'json' : 'jwt'} scope=${scope} claims=${claims ?? '-'}`;
          const { pending, page } = await authorize(r, client, { scope, ...(claims && { claims }) });
          expect(isCallback(page, client), `${where}: no consent page (everything decided)`).toBe(true);
          const t = await tokens(client, pending, page);
          const idClaims = t.claims()! as Record<string, unknown>;
          check(`${where} id_token`, idClaims);
          const userinfo = (await oidc.fetchUserInfo(client.config, t.access_token, idClaims.sub as string)) as Record<string, unknown>;
          check(`${where} userinfo`, userinfo);
          if (claims && scope === registration.scope) {
            expect(userinfo.given_name).toBe('Dominique');
            expect((userinfo.verified_claims as { claims: object }).claims).toEqual({ given_name: 'Dominique' });
          }
          const introspection = (await oidc.tokenIntrospection(client.config, t.access_token)) as Record<string, unknown>;
          expect(introspection.active).toBe(true);
          expect(String(introspection.scope).split(' ')).not.toContain('phone');
          check(`${where} introspection`, introspection);
          for (const personal of ['given_name', 'email', 'verified_claims']) expect(introspection).not.toHaveProperty(personal);
          combinations++;
        }
      }
    }
    expect(combinations).toBe(24);
    // The JWT client did receive signed userinfo.
    const t = await signIn(r, jwt, { scope: registration.scope });
    const signed = await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t.access_token}` } });
    expect(signed.headers.get('content-type')).toMatch(/application\/jwt/);
  }, 120_000);
});

describe('the resident manages consents', () => {
  it('withdrawal revokes refresh and access tokens at once, sends back-channel logout, and the next login asks again', async () => {
    const app = await registerClient(glc, {
      name: 'Cantine',
      organisation: 'Ville de Vénissieux',
      redirectUris: ['http://127.0.0.1:9/cantine'],
      scope: 'openid profile offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
      backchannelLogoutUri: backchannel.url,
      claimsRequired: ['given_name', 'family_name'],
    });
    const t = await signIn(camille, app, { scope: 'openid profile offline_access', prompt: 'consent' });
    expect(t.refresh_token).toBeTruthy();
    const sub = t.claims()!.sub;
    expect((await oidc.fetchUserInfo(app.config, t.access_token, sub)).given_name).toBe('Camille');

    const list = await camille.browser.get('/compte/services');
    expect(list.status).toBe(200);
    expect(list.html).toContain('Cantine');
    expect(list.html).toContain('Ville de Vénissieux');
    const before = backchannel.tokens.length;
    const done = await camille.browser.submit(list, new RegExp(`/compte/services/${app.clientId}/retrait$`));
    expect(done.status).toBe(303);
    expect((await camille.browser.get(done.location!)).html).toContain('Votre consentement pour Cantine est retiré');

    await expect(oidc.refreshTokenGrant(app.config, t.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const userinfo = await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t.access_token}` } });
    expect(userinfo.status).toBe(401);

    await eventually(() => backchannel.tokens.length > before); // delivered by the queue's worker
    await new Promise((r) => setTimeout(r, 1500)); // and only one
    expect(backchannel.tokens.length).toBe(before + 1);
    const { payload } = await jose.jwtVerify(backchannel.tokens.at(-1)!, jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
      issuer: glc.config.issuer,
      audience: app.clientId,
    });
    expect(payload.sub).toBe(sub);
    expect(payload.events).toHaveProperty(['http://schemas.openid.net/event/backchannel-logout']);

    const events = (await journal(camille.accountId)).filter((e) => e.client_id === app.clientId).map((e) => e.event);
    expect(events).toEqual(['granted', 'withdrawn']);
    const again = await authorize(camille, app, { scope: 'openid profile' });
    expect(again.page.status).toBe(200);
    expect(again.page.html).toContain('demande l’accès à vos informations');
  });

  it('unticking an optional datum stops its release and revokes tokens; the next login asks for it again', async () => {
    const t = await signIn(camille, mediatheque, { scope: 'openid profile email phone' });
    const list = await camille.browser.get('/compte/services');
    expect(list.html).toMatch(new RegExp(`action="/compte/services/${mediatheque.clientId}/donnees"[\\s\\S]*?name="keep" value="email"`));
    const done = await camille.browser.submit(list, new RegExp(`/compte/services/${mediatheque.clientId}/donnees$`), {});
    expect(done.location).toContain('fait=partiel');
    expect((await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(401);

    const again = await authorize(camille, mediatheque, { scope: 'openid profile email phone' });
    expect(again.page.status).toBe(200);
    expect(again.page.html).toContain('value="email"');
    expect(again.page.html).not.toContain('value="phone_number"'); // refused at first consent: not asked again
    const t2 = await tokens(mediatheque, again.pending, await allow(camille, again.page, mediatheque, []));
    const userinfo = await oidc.fetchUserInfo(mediatheque.config, t2.access_token, t2.claims()!.sub);
    expect(userinfo).not.toHaveProperty('email');
    expect(userinfo.given_name).toBe('Camille');
    const events = (await journal(camille.accountId))
      .filter((e) => e.client_id === mediatheque.clientId)
      .map((e) => [e.event, e.detail.claims]);
    expect(events).toEqual([
      ['granted', ['given_name', 'family_name', 'email']],
      ['partially_withdrawn', ['email']],
      ['extended', []],
    ]);
  });
});

describe('expiry, journal and account deletion', () => {
  it('an expired consent releases nothing and is asked again; the job journals the expiry and revokes tokens', async () => {
    const r = await newResident('alix@example.fr', { given_name: 'Alix' });
    const svc = await registerClient(glc, {
      name: 'Bibliothèque',
      redirectUris: ['http://127.0.0.1:9/biblio'],
      scope: 'openid profile',
      claimsRequired: ['given_name'],
    });
    const t = await signIn(r, svc, { scope: 'openid profile' });

    // Time passes for the provider: the consent's expiry is compared in SQL with now().
    await sql`update consents set expires_at = now() - interval '1 minute' where account_id = ${r.accountId} and client_id = ${svc.clientId}`.execute(
      glc.services.db,
    );
    const stale = (await (
      await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t.access_token}` } })
    ).json()) as Record<string, unknown>;
    expect(Object.keys(stale)).toEqual(['sub']);
    const asked = await authorize(r, svc, { scope: 'openid profile' });
    expect(asked.page.status).toBe(200);
    expect(asked.page.html).toContain('demande l’accès à vos informations');
    const t2 = await tokens(svc, asked.pending, await allow(r, asked.page, svc));
    expect((await journal(r.accountId)).map((e) => e.event)).toEqual(['granted', 'expired', 'granted']);

    // The job, run at a date past CONSENT_TTL_DAYS (395), ends it and revokes its tokens.
    const later = new Date(Date.now() + 396 * DAY);
    expect(await glc.services.consent.expireDue(later)).toBeGreaterThanOrEqual(1);
    expect((await journal(r.accountId)).map((e) => e.event)).toEqual(['granted', 'expired', 'granted', 'expired']);
    expect((await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t2.access_token}` } })).status).toBe(401);
    const list = await r.browser.get('/compte/services');
    expect(list.html).toContain('accord arrivé à échéance');
  });

  it('the journal verifies with glc consent verify, and a tampered entry is reported precisely', async () => {
    const verify = async () => {
      const saved = { ...process.env };
      Object.assign(process.env, { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...glc.database.env });
      let out = '';
      try {
        const code = await runCli(
          ['consent', 'verify', '--json'],
          (text) => {
            out += text;
          },
          { services: glc.services },
        );
        return { code, report: JSON.parse(out) as Awaited<ReturnType<typeof glc.services.consent.verifyJournal>> };
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    };
    const ok = await verify();
    expect(ok.code).toBe(0);
    expect(ok.report).toMatchObject({ ok: true, breaks: [] });
    expect(ok.report.entries).toBeGreaterThanOrEqual(10);

    const db = glc.services.db;
    const target = await db
      .selectFrom('consent_journal')
      .select(['id', 'detail'])
      .where('account_id', '=', camille.accountId)
      .orderBy('seq')
      .offset(1)
      .limit(1)
      .executeTakeFirstOrThrow();
    // The table itself refuses changes (append-only trigger)…
    await expect(sql`update consent_journal set detail = '{"claims":["given_name"]}' where id = ${target.id}`.execute(db)).rejects.toThrow(
      /append-only/,
    );
    // …and someone who bypasses it is caught by the hash chain.
    await sql`alter table consent_journal disable trigger consent_journal_append_only`.execute(db);
    try {
      await sql`update consent_journal set detail = jsonb_set(detail, '{claims}', '["given_name"]') where id = ${target.id}`.execute(db);
      const broken = await verify();
      expect(broken.code).not.toBe(0);
      expect(broken.report.ok).toBe(false);
      expect(broken.report.breaks).toEqual([
        expect.objectContaining({
          entryId: target.id,
          seq: 2,
          reason: 'hash_mismatch',
          subject: glc.services.consent.subjectOf(camille.accountId),
        }),
      ]);
    } finally {
      await sql`update consent_journal set detail = ${JSON.stringify(target.detail)}::jsonb where id = ${target.id}`.execute(db);
      await sql`alter table consent_journal enable trigger consent_journal_append_only`.execute(db);
    }
    expect((await verify()).code).toBe(0);
  });

  it('after account deletion the journal is kept pseudonymised for the proof period, then purged', async () => {
    const r = await newResident('sacha@example.fr', { given_name: 'Sacha' });
    const svc = await registerClient(glc, {
      name: 'Mairie',
      redirectUris: ['http://127.0.0.1:9/mairie'],
      scope: 'openid profile',
      claimsRequired: ['given_name'],
    });
    await signIn(r, svc, { scope: 'openid profile' });
    const subject = glc.services.consent.subjectOf(r.accountId);
    const now = new Date();
    // The one account-deletion routine calls the consent domain inside its transaction.
    expect((await glc.services.deletion.deleteAccount(r.accountId, 'user_request', now)).deleted).toBe(true);
    expect(await glc.services.accountStore.findById(r.accountId)).toBeUndefined();
    expect(await glc.services.db.selectFrom('consents').select('client_id').where('account_id', '=', r.accountId).execute()).toEqual([]);
    const kept = await glc.services.db.selectFrom('consent_journal').selectAll().where('subject', '=', subject).orderBy('seq').execute();
    expect(kept.map((e) => e.event)).toEqual(['granted', 'deleted_with_account']);
    for (const e of kept) {
      expect(e.account_id).toBeNull();
      expect(e.purge_after!.getTime()).toBe(now.getTime() + 1825 * DAY);
    }
    expect(kept[1]!.detail).toEqual({ services: [svc.clientId], method: 'account_deletion' });
    expect(JSON.stringify(kept)).not.toContain(r.accountId);
    expect((await glc.services.consent.verifyJournal()).ok).toBe(true);

    expect(await glc.services.consent.purgeJournal(new Date(now.getTime() + 1824 * DAY))).toBe(0);
    expect(await glc.services.consent.purgeJournal(new Date(now.getTime() + 1826 * DAY))).toBe(2);
    expect(await glc.services.db.selectFrom('consent_journal').select('id').where('subject', '=', subject).execute()).toEqual([]);
  });
});

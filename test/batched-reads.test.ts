// Token and session lookups made in the same turn of the event loop go to PostgreSQL as one
// statement (oidc/adapter.ts, batchedReads). Real parallel userinfo calls on a real GLC: each
// gets its own token's answer, an unknown token is still refused, and the lookups are gathered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import * as oidc from 'openid-client';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  STRONG_PASSWORD,
  startTestGlc,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import { createResident } from './accounts-support.js';
import { createConsentStore } from '../src/consent/store.js';
import { atOnce } from './support/at-once.js';
import { Browser } from './support/browser.js';

let glc: TestGlc;
let client: TestClient;
const statements: string[] = [];
const originalQuery = pg.Client.prototype.query;
/** Set by a test: statements matching it fail as on a lost connection (no SQLSTATE). */
let failing: RegExp | undefined;

beforeAll(async () => {
  // Before GLC opens its first connection: each connection binds the query method it finds.
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    statements.push(text);
    if (failing?.test(text)) return Promise.reject(new Error('Connection terminated unexpectedly'));
    return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
  glc = await startTestGlc();
  client = await registerClient(glc);
}, 60_000);
afterAll(async () => {
  pg.Client.prototype.query = originalQuery;
  await glc?.close();
});

async function residentToken(email: string): Promise<{ accessToken: string; sub: string }> {
  const pending = await authorizationRequest(client);
  const { callback } = await newResidentAuthorizes(glc, client, pending, email);
  const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
  return { accessToken: tokens.access_token, sub: tokens.claims()!.sub };
}

const userinfoRequest = (accessToken: string) =>
  `GET /me HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${accessToken}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`;

const tokenReads = () => statements.filter((s) => s.includes('"oidc_payloads" as "t"')).length;

describe('lookups gathered while the event loop polls', () => {
  it('parallel userinfo calls: one statement for many tokens, each answer its own, unknown tokens refused', async () => {
    const residents: { accessToken: string; sub: string }[] = [];
    for (const email of ['lot.un@example.fr', 'lot.deux@example.fr', 'lot.trois@example.fr']) residents.push(await residentToken(email));
    const calls = Array.from({ length: 24 }, (_, i) => (i % 8 === 7 ? { accessToken: `inconnu-${i}`, sub: undefined } : residents[i % 3]!));

    statements.length = 0;
    const port = Number(new URL(glc.url).port);
    const answers = await atOnce(calls.map(({ accessToken }) => ({ port, request: userinfoRequest(accessToken) })));
    answers.forEach((answer, i) => {
      const expected = calls[i]!;
      if (expected.sub === undefined) {
        expect(answer).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_token' }) });
      } else {
        expect(answer.status).toBe(200);
        expect(answer.body.sub).toBe(expected.sub);
        expect(answer.body.email).toBe(['lot.un@example.fr', 'lot.deux@example.fr', 'lot.trois@example.fr'][i % 3]);
      }
    });
    // One statement per turn of the loop rather than one per call (24 without gathering).
    expect(tokenReads()).toBeLessThanOrEqual(6);
  });

  it('the same token asked twice in one batch: two separate copies, so one request cannot change the other’s', async () => {
    const { accessToken } = await residentToken('lot.copie@example.fr');
    const adapter = (glc.services.provider.AccessToken as unknown as { adapter: { find(id: string): Promise<Record<string, unknown>> } })
      .adapter;
    statements.length = 0;
    const [a, b] = await Promise.all([adapter.find(accessToken), adapter.find(accessToken)]);
    expect(tokenReads()).toBe(1);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    (a.scope as unknown) = 'changed';
    expect(b.scope).not.toBe('changed');
  });
});

describe('saves gathered while the event loop polls', () => {
  type Adapter = {
    upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void>;
    find(id: string): Promise<Record<string, unknown> | undefined>;
  };
  const adapterOf = (model: 'Interaction' | 'Session') => (glc.services.provider[model] as unknown as { adapter: Adapter }).adapter;
  const saves = () => statements.filter((s) => s.startsWith('insert into "oidc_payloads"')).length;

  it('parallel saves: one statement, every row saved, the last version of a row saved twice', async () => {
    const interactions = adapterOf('Interaction');
    statements.length = 0;
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => interactions.upsert(`lot-${i}`, { uid: `lot-${i}`, kind: 'Interaction', n: i }, 600)),
      interactions.upsert('lot-0', { uid: 'lot-0', kind: 'Interaction', n: 'second' }, 600),
    ]);
    expect(saves()).toBe(1);
    expect((await interactions.find('lot-0'))?.n).toBe('second');
    for (let i = 1; i < 10; i++) expect((await interactions.find(`lot-${i}`))?.n).toBe(i);
  });

  it('a row PostgreSQL refuses fails its own save only', async () => {
    const interactions = adapterOf('Interaction');
    const results = await Promise.allSettled([
      interactions.upsert('lot-bon-1', { uid: 'lot-bon-1', kind: 'Interaction' }, 600),
      // jsonb refuses the NUL character.
      interactions.upsert('lot-mauvais', { uid: 'lot-mauvais', kind: 'Interaction', state: 'a\u0000b' }, 600),
      interactions.upsert('lot-bon-2', { uid: 'lot-bon-2', kind: 'Interaction' }, 600),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await interactions.find('lot-bon-1')).toBeDefined();
    expect(await interactions.find('lot-bon-2')).toBeDefined();
    expect(await interactions.find('lot-mauvais')).toBeUndefined();
  });

  it('a lost connection fails the lot at once, without a retry per row', async () => {
    const interactions = adapterOf('Interaction');
    statements.length = 0;
    failing = /^insert into "oidc_payloads"/;
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => interactions.upsert(`lot-coupe-${i}`, { uid: `lot-coupe-${i}`, kind: 'Interaction' }, 600)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(6).fill('rejected'));
      expect(saves()).toBe(1); // was 7: the lot, then each row alone against the same failure
    } finally {
      failing = undefined;
    }
    expect(await interactions.find('lot-coupe-0')).toBeUndefined();
  });
});

describe('accounts read with their consent (every authorization and login)', () => {
  it('parallel reads: one statement, each its own account and consent, a malformed or unknown id gives no account', async () => {
    const { sub } = await residentToken('lot.consentement@example.fr');
    expect(sub).toBeTruthy();
    const withConsent = (await glc.services.accountStore.findByEmail('lot.consentement@example.fr'))!;
    const without = await createResident(glc, 'lot.sans-consentement@example.fr');
    const store = createConsentStore(glc.services.db);
    const reads = () => statements.filter((s) => s.includes('unnest(') && s.includes('"consents"')).length;
    statements.length = 0;
    const [a, b, malformed, unknown, again, twice, joined] = await Promise.all([
      store.accountWithConsentInForce(withConsent.id, client.clientId),
      store.accountWithConsentInForce(without.id, client.clientId),
      store.accountWithConsentInForce('pas-un-uuid', client.clientId),
      store.accountWithConsentInForce('00000000-0000-4000-8000-000000000000', client.clientId),
      store.accountWithConsentInForce(withConsent.id, 'un-autre-service'),
      store.accountWithConsentInForce(withConsent.id, client.clientId),
      // The pair's two ids run together: still another pair, which names no account.
      store.accountWithConsentInForce(`${withConsent.id}\n${client.clientId}`, ''),
    ]);
    expect(reads()).toBe(1);
    // The same pair twice in one batch: the same answer, each its own copy.
    expect(twice).toEqual(a);
    expect(twice).not.toBe(a);
    expect(joined).toBeUndefined();
    expect(a?.account.email).toBe('lot.consentement@example.fr');
    expect(a?.consent?.client_id).toBe(client.clientId);
    expect(a?.consent?.expires_at).toBeInstanceOf(Date);
    expect(a?.grant).toBeDefined();
    expect(b?.account.email).toBe('lot.sans-consentement@example.fr');
    expect(b?.consent).toBeUndefined();
    expect(malformed).toBeUndefined();
    expect(unknown).toBeUndefined();
    // Same account, another service: the account, without this service's consent.
    expect(again?.account.id).toBe(withConsent.id);
    expect(again?.consent).toBeUndefined();
  });
});

describe('an authorization reads the session with its account, consent and grant', () => {
  it('parallel authorizations from one signed-in browser: each service its own answer, no separate account read', async () => {
    const pending = await authorizationRequest(client);
    const { browser } = await newResidentAuthorizes(glc, client, pending, 'lot.session@example.fr');
    // A second service the resident never consented to.
    const other = await registerClient(glc);
    const consented = await Promise.all([authorizationRequest(client), authorizationRequest(client)]);
    const notConsented = await authorizationRequest(other);
    const unknown = new URL(consented[0].url);
    unknown.searchParams.set('client_id', 'service-inconnu');
    const controlled = new URL(consented[0].url);
    controlled.searchParams.set('client_id', `${client.clientId}\u0001`);
    const accountReads = () => statements.filter((s) => s.includes('"asked_account_id"')).length;
    const sessionReads = () => statements.filter((s) => s.includes('"oidc_payloads" as "s"') && s.includes('"consents"')).length;

    statements.length = 0;
    const get = (url: URL) => browser.get(url.href);
    const [first, second, toOther, toUnknown, toControlled] = await Promise.all([
      get(consented[0].url),
      get(consented[1].url),
      get(notConsented.url),
      get(unknown),
      get(controlled),
    ]);
    // The consented service gets its codes at once, each for its own request.
    for (const [page, request] of [
      [first, consented[0]],
      [second, consented[1]],
    ] as const) {
      const callback = callbackUrl(page);
      expect(callback.href.startsWith(client.redirectUri)).toBe(true);
      expect(callback.searchParams.get('state')).toBe(request.state);
      expect(callback.searchParams.get('code')).toBeTruthy();
    }
    // The other service is asked for: the consent page, not a code.
    expect(toOther.status).toBeGreaterThanOrEqual(300);
    expect(toOther.location?.startsWith(other.redirectUri)).toBe(false);
    expect((await browser.follow(toOther)).html).toMatch(/\/consent"/);
    // An unknown service, or one named with a control character: refused, not a failure.
    expect(toUnknown.status).toBe(400);
    expect(toControlled.status).toBe(400);
    // The session reads brought the account and its consents: none was read on its own
    // (one such read per authorization before), and the sessions were read at least once.
    expect(accountReads()).toBe(0);
    expect(sessionReads()).toBeGreaterThanOrEqual(1);

    // The code obtained that way is the resident's.
    const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(first), {
      pkceCodeVerifier: consented[0].verifier,
      expectedState: consented[0].state,
      expectedNonce: consented[0].nonce,
    });
    const sub = tokens.claims()!.sub;
    expect((await oidc.fetchUserInfo(client.config, tokens.access_token, sub)).email).toBe('lot.session@example.fr');
  });

  it('parallel logins: each resident returns to the service with their own account, read with the interaction', async () => {
    const emails = ['lot.retour.un@example.fr', 'lot.retour.deux@example.fr'];
    // Each resident has an account and has consented (in a first browser).
    for (const email of emails) await newResidentAuthorizes(glc, client, await authorizationRequest(client), email);
    const logins = await Promise.all(
      emails.map(async (email) => {
        const request = await authorizationRequest(client);
        const browser = new Browser(glc.config.issuer);
        const page = await browser.follow(await browser.get(request.url.href));
        return { email, request, browser, page };
      }),
    );
    const submitted = await Promise.all(
      logins.map(({ browser, page, email }) => browser.submit(page, /\/login$/, { email, password: STRONG_PASSWORD })),
    );
    const accountReads = () => statements.filter((s) => s.includes('"asked_account_id"')).length;
    statements.length = 0;
    // Both return to the provider at once: each interaction read with its own account and consent.
    const back = await Promise.all(
      logins.map(({ browser }, i) => browser.follow(submitted[i]!, (u) => u.href.startsWith(client.redirectUri))),
    );
    expect(accountReads()).toBe(0);
    for (const [i, { email, request }] of logins.entries()) {
      const callback = callbackUrl(back[i]!);
      expect(callback.searchParams.get('state')).toBe(request.state);
      const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      });
      expect((await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub)).email).toBe(email);
    }
  });

  it('a consent withdrawn since the last authorization is seen by the next one, read with the session', async () => {
    const pending = await authorizationRequest(client);
    const { browser } = await newResidentAuthorizes(glc, client, pending, 'lot.retrait@example.fr');
    const account = (await glc.services.accountStore.findByEmail('lot.retrait@example.fr'))!;
    const again = async () => browser.get((await authorizationRequest(client)).url.href);
    expect(callbackUrl(await again()).searchParams.get('code')).toBeTruthy();
    await glc.services.consent.withdraw(account.id, client.clientId, new Date());
    const afterWithdrawal = await again();
    expect(afterWithdrawal.location?.startsWith(client.redirectUri)).toBe(false);
    expect((await browser.follow(afterWithdrawal)).html).toMatch(/\/consent"/);
  });
});

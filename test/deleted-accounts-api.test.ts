// The deleted-accounts API as a commune's system sees it: client-credentials token, its own
// records only, stable cursor pagination with deletions between pages, RFC 6750 errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { authorizationRequest, newResidentAuthorizes, registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';
import { alterApiToken } from './support/api-tokens.js';

let glc: TestGlc;
let commune: TestClient;
let other: TestClient;
let token: string;

interface Page {
  items: { sub: string; deleted_at: string; reason: string }[];
  next_cursor: string;
  has_more: boolean;
}

beforeAll(async () => {
  glc = await startTestGlc();
  // A commune's service: logs residents in, and polls the API with the same client_id.
  commune = await registerClient(glc, {
    redirectUris: ['http://127.0.0.1:9/commune'],
    scope: 'openid profile email deleted_accounts:read',
    grantTypes: ['authorization_code', 'client_credentials'],
  });
  other = await registerClient(glc, {
    redirectUris: ['http://localhost:9/autre'],
    scope: 'openid profile email deleted_accounts:read',
    grantTypes: ['authorization_code', 'client_credentials'],
    subjectType: 'public',
  });
  token = (await oidc.clientCredentialsGrant(commune.config, { scope: 'deleted_accounts:read' })).access_token;
});
afterAll(async () => {
  await glc?.close();
});

/** bearer null: no Authorization header. */
const api = (path: string, bearer: string | null = token, init: RequestInit = {}) =>
  fetch(`${glc.config.issuer}${path}`, {
    ...init,
    headers: { ...(bearer !== null && { authorization: `Bearer ${bearer}` }), ...init.headers },
  });
const page = async (query: string, bearer = token) => {
  const res = await api(`/api/v1/deleted-accounts${query}`, bearer);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
};

let n = 0;
/** A resident known to `clientIds` (the subs they would have received), then deleted. */
async function deletedResident(clientIds: string[], reason: 'user_request' | 'inactivity' | 'operator' = 'user_request') {
  const account = await glc.services.accountStore.create({ email: null, passwordHash: null });
  const subs = clientIds.map((c) => `sub-${++n}-${c.slice(-6)}`);
  for (const [i, c] of clientIds.entries()) await glc.services.deletion.recordSubject(account.id, c, subs[i]!, new Date());
  await glc.services.deletion.deleteAccount(account.id, reason, new Date());
  return subs;
}

describe('authorization', () => {
  it('refuses a missing, unknown, revoked or expired token with 401 and an RFC 6750 challenge', async () => {
    const missing = await api('/api/v1/deleted-accounts', null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="GrandLyon Connect"/);
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_token');

    const unknown = await api('/api/v1/deleted-accounts', 'not-a-real-token');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);

    const basic = await api('/api/v1/deleted-accounts', null, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    expect(basic.status).toBe(401);

    const inQuery = await api(`/api/v1/deleted-accounts?access_token=${token}`, null);
    expect(inQuery.status).toBe(400);

    const revocable = (await oidc.clientCredentialsGrant(commune.config, { scope: 'deleted_accounts:read' })).access_token;
    expect((await api('/api/v1/deleted-accounts', revocable)).status).toBe(200);
    await oidc.tokenRevocation(commune.config, revocable);
    const revoked = await api('/api/v1/deleted-accounts', revocable);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toContain('error="invalid_token"');

    // A token of the service, expired a second ago.
    const expired = (await oidc.clientCredentialsGrant(commune.config, { scope: 'deleted_accounts:read' })).access_token;
    expect((await api('/api/v1/deleted-accounts', expired)).status).toBe(200);
    await alterApiToken(glc, expired);
    expect((await api('/api/v1/deleted-accounts', expired)).status).toBe(401);

    // An access token of a resident (authorization code) is not a service's token.
    const pending = await authorizationRequest(commune);
    const { callback } = await newResidentAuthorizes(glc, commune, pending, 'resident@example.fr');
    const resident = await oidc.authorizationCodeGrant(commune.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    expect((await api('/api/v1/deleted-accounts', resident.access_token)).status).toBe(401);
  });

  it('answers 403 insufficient_scope to a token without deleted_accounts:read, and 401 once the client is disabled', async () => {
    const narrow = (await oidc.clientCredentialsGrant(commune.config, { scope: '' })).access_token;
    const res = await api('/api/v1/deleted-accounts', narrow);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="deleted_accounts:read"/);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');

    const disabled = await registerClient(glc, { grantTypes: ['client_credentials'], scope: 'deleted_accounts:read', redirectUris: [] });
    const t = (await oidc.clientCredentialsGrant(disabled.config, { scope: 'deleted_accounts:read' })).access_token;
    expect((await api('/api/v1/deleted-accounts', t)).status).toBe(200);
    await glc.services.clients.setEnabled(disabled.clientId, false);
    expect((await api('/api/v1/deleted-accounts', t)).status).toBe(401);
  });
});

describe('parameters', () => {
  it.each([
    ['?limit=0', 'limit'],
    ['?limit=1001', 'limit'],
    ['?limit=abc', 'limit'],
    ['?limit=-5', 'limit'],
    ['?limit=10&limit=20', 'limit'],
    ['?cursor=xyz', 'cursor'],
    ['?cursor=', 'cursor'],
    ['?since=hier', 'since'],
    ['?since=2026-13-45T00:00:00Z', 'since'],
    ['?since=2020-02-30', 'since'],
    ['?since=2021-02-29T00:00:00Z', 'since'],
    ['?since=2026-01-01T24:00:00Z', 'since'],
    ['?since=2026-01-01T10:00', 'since'],
  ])('%s → 400 naming %s', async (query, parameter) => {
    const res = await api(`/api/v1/deleted-accounts${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ error: 'invalid_request', parameter });
  });

  it('refuses a cursor given to another service, and since together with cursor', async () => {
    const mine = await page('?limit=1');
    const otherToken = (await oidc.clientCredentialsGrant(other.config, { scope: 'deleted_accounts:read' })).access_token;
    const res = await api(`/api/v1/deleted-accounts?cursor=${mine.next_cursor}`, otherToken);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ parameter: 'cursor' });
    const both = await api(`/api/v1/deleted-accounts?cursor=${mine.next_cursor}&since=2026-01-01T00:00:00Z`);
    expect(await both.json()).toMatchObject({ parameter: 'since' });
  });
});

describe('feed', () => {
  it('shows a service its own records only, oldest first, and pages stably while deletions go on', async () => {
    const start = await page('?limit=1000');
    const cursor0 = start.next_cursor;
    expect(start.has_more).toBe(false);

    const expected: string[] = [];
    const otherSubs: string[] = [];
    for (let i = 0; i < 7; i++) {
      const [c, o] = await deletedResident([commune.clientId, other.clientId], i % 2 ? 'inactivity' : 'user_request');
      expected.push(c!);
      otherSubs.push(o!);
    }
    await deletedResident([other.clientId]);

    // Pages of 3, with new deletions between the pages.
    const seen: Page['items'] = [];
    let cursor = cursor0;
    let p = await page(`?cursor=${cursor}&limit=3`);
    seen.push(...p.items);
    expect(p.has_more).toBe(true);
    expected.push(...(await deletedResident([commune.clientId])));
    cursor = p.next_cursor;
    for (let i = 0; i < 10; i++) {
      p = await page(`?cursor=${cursor}&limit=3`);
      seen.push(...p.items);
      cursor = p.next_cursor;
      if (i === 0) expected.push(...(await deletedResident([commune.clientId], 'operator')));
      if (!p.has_more) break;
    }
    expect(seen.map((x) => x.sub)).toEqual(expected);
    expect(seen.some((x) => otherSubs.includes(x.sub))).toBe(false);
    expect(seen[0]).toMatchObject({ reason: 'user_request' });
    expect(seen[1]).toMatchObject({ reason: 'inactivity' });
    expect(seen.at(-1)).toMatchObject({ reason: 'operator' });
    expect(Date.parse(seen[0]!.deleted_at)).not.toBeNaN();

    // Keeping the last cursor and polling later returns exactly the new records.
    expect((await page(`?cursor=${cursor}`)).items).toEqual([]);
    const later = await deletedResident([commune.clientId, other.clientId]);
    const again = await page(`?cursor=${cursor}`);
    expect(again.items.map((x) => x.sub)).toEqual([later[0]]);
    expect(again.has_more).toBe(false);
    expect((await page(`?cursor=${again.next_cursor}`)).items).toEqual([]);

    // Without a cursor: from the oldest record kept; default limit 100.
    expect((await page('')).items.map((x) => x.sub)).toEqual([...expected, later[0]]);
    // The other service sees its own records with its own subs.
    const otherToken = (await oidc.clientCredentialsGrant(other.config, { scope: 'deleted_accounts:read' })).access_token;
    expect((await page('?limit=1000', otherToken)).items.map((x) => x.sub)).toEqual(expect.arrayContaining(otherSubs));
  });

  it('since=ISO-8601 starts at the first record deleted at or after that time', async () => {
    const account = await glc.services.accountStore.create({ email: null, passwordHash: null });
    await glc.services.deletion.recordSubject(account.id, commune.clientId, 'sub-since-old', new Date());
    await glc.services.deletion.deleteAccount(account.id, 'operator', new Date('2020-01-01T00:00:00Z'));
    const boundary = new Date();
    const fresh = await deletedResident([commune.clientId]);
    const p = await page(`?since=${encodeURIComponent(boundary.toISOString())}`);
    expect(p.items.map((x) => x.sub)).toEqual(fresh);
    expect((await page(`?since=2019-12-31`)).items.map((x) => x.sub)).toContain('sub-since-old');
    // A since after everything: nothing now, and its cursor yields exactly what comes next.
    const empty = await page(`?since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
    expect(empty.items).toEqual([]);
    const next = await deletedResident([commune.clientId]);
    expect((await page(`?cursor=${empty.next_cursor}`)).items.map((x) => x.sub)).toEqual(next);
  });

  it('records the sub a real service received (pairwise), visible through the API', async () => {
    const pending = await authorizationRequest(commune);
    const { callback } = await newResidentAuthorizes(glc, commune, pending, 'reel@example.fr');
    const tokens = await oidc.authorizationCodeGrant(commune.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const before = await page('?limit=1000');
    const account = (await glc.services.accountStore.findByEmail('reel@example.fr'))!;
    await glc.services.deletion.deleteAccount(account.id, 'user_request', new Date());
    const p = await page(`?cursor=${before.next_cursor}`);
    expect(p.items).toEqual([{ sub: tokens.claims()!.sub, deleted_at: expect.any(String), reason: 'user_request' }]);
  });
});

describe('description', () => {
  it('publishes an OpenAPI 3.1 document', async () => {
    const res = await fetch(`${glc.config.issuer}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { securitySchemes: { clientCredentials: { flows: { clientCredentials: { tokenUrl: string } } } } };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/deleted-accounts']).toBeTruthy();
    expect(doc.components.securitySchemes.clientCredentials.flows.clientCredentials.tokenUrl).toBe(`${glc.config.issuer}/token`);
  });
});

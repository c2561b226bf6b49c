// The deleted-accounts feed as Security Event Tokens (RFC 8417, OpenID RISC account-purged)
// delivered by poll (RFC 8936), as a commune's system sees it: SETs that verify against GLC's
// JWKS, acknowledgements that stop redelivery, maxEvents / moreAvailable, RFC 8936 errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';

const ACCOUNT_PURGED = 'https://schemas.openid.net/secevent/risc/event-type/account-purged';

let glc: TestGlc;
let commune: TestClient;
let other: TestClient;
let token: string;
let otherToken: string;

interface PollResponse {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

beforeAll(async () => {
  glc = await startTestGlc();
  commune = await registerClient(glc, {
    redirectUris: ['http://127.0.0.1:9/commune'],
    scope: 'openid profile email deleted_accounts:read',
    grantTypes: ['authorization_code', 'client_credentials'],
  });
  other = await registerClient(glc, {
    redirectUris: ['http://localhost:9/autre'],
    scope: 'openid profile email deleted_accounts:read',
    grantTypes: ['authorization_code', 'client_credentials'],
  });
  token = (await oidc.clientCredentialsGrant(commune.config, { scope: 'deleted_accounts:read' })).access_token;
  otherToken = (await oidc.clientCredentialsGrant(other.config, { scope: 'deleted_accounts:read' })).access_token;
});
afterAll(async () => {
  await glc?.close();
});

const post = (body: unknown, bearer: string | null = token, headers: Record<string, string> = {}) =>
  fetch(`${glc.config.issuer}/api/v1/security-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer !== null && { authorization: `Bearer ${bearer}` }), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const poll = async (body: Record<string, unknown>, bearer = token) => {
  const res = await post({ returnImmediately: true, ...body }, bearer);
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return (await res.json()) as PollResponse;
};

let n = 0;
/** A resident known to `clientIds` under the returned subs, then deleted. */
async function deletedResident(clientIds: string[], reason: 'user_request' | 'inactivity' | 'operator' = 'user_request', at = new Date()) {
  const account = await glc.services.accountStore.create({ email: null, passwordHash: null });
  const subs = clientIds.map((c) => `set-sub-${++n}-${c.slice(-6)}`);
  for (const [i, c] of clientIds.entries()) await glc.services.deletion.recordSubject(account.id, c, subs[i]!, at);
  await glc.services.deletion.deleteAccount(account.id, reason, at);
  return subs;
}
const subOf = (set: string) => (jose.decodeJwt(set).sub_id as { sub: string }).sub;
/** Acknowledges everything pending for the service (start of a scenario). */
async function drain(bearer = token) {
  for (;;) {
    const p = await poll({ maxEvents: 1000 }, bearer);
    await poll({ ack: Object.keys(p.sets), maxEvents: 0 }, bearer);
    if (!p.moreAvailable) return;
  }
}

describe('Security Event Tokens', () => {
  it('are RISC account-purged SETs for the sub the service knew, signed with GLC’s key and verifiable against /jwks', async () => {
    await drain();
    const deletedAt = new Date('2027-03-02T03:00:12.000Z');
    const [sub, otherSub] = await deletedResident([commune.clientId, other.clientId], 'inactivity', deletedAt);
    const p = await poll({});
    expect(Object.keys(p.sets)).toHaveLength(1);
    expect(p.moreAvailable).toBe(false);
    const [jti, set] = Object.entries(p.sets)[0]!;

    const jwks = jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`));
    const { payload, protectedHeader } = await jose.jwtVerify(set, jwks, {
      issuer: glc.config.issuer,
      audience: commune.clientId,
      typ: 'secevent+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'secevent+jwt' });
    const signing = (await glc.services.keys.list(false)).find((k) => k.alg === 'ES256')!;
    expect(protectedHeader.kid).toBe(signing.kid);
    const subject = { format: 'iss_sub', iss: glc.config.issuer, sub };
    expect(payload).toMatchObject({ iss: glc.config.issuer, aud: commune.clientId, jti, toe: deletedAt.getTime() / 1000, sub_id: subject });
    expect(payload.events).toEqual({ [ACCOUNT_PURGED]: { subject, reason: 'inactivity' } });
    expect(typeof payload.iat).toBe('number');
    expect(payload.exp).toBeUndefined();

    // The other service receives its own SET, with its own sub; the jti is stable across deliveries.
    const o = await poll({}, otherToken);
    const mine = Object.entries(o.sets).filter(([, s]) => subOf(s) === otherSub);
    expect(mine).toHaveLength(1);
    expect(Object.values(o.sets).map(subOf)).not.toContain(sub);
    expect(Object.keys((await poll({})).sets)).toEqual([jti]);
  });

  it('acknowledged SETs are not delivered again; maxEvents and moreAvailable page through, acks in any order', async () => {
    await drain();
    const subs: string[] = [];
    for (let i = 0; i < 5; i++) subs.push(...(await deletedResident([commune.clientId])));

    const first = await poll({ maxEvents: 2 });
    expect(Object.values(first.sets).map(subOf)).toEqual(subs.slice(0, 2));
    expect(first.moreAvailable).toBe(true);
    // Not acknowledged: delivered again.
    expect(Object.keys((await poll({ maxEvents: 2 })).sets)).toEqual(Object.keys(first.sets));

    // Acknowledge the second only: the first keeps coming back, the third follows.
    const [jti1, jti2] = Object.keys(first.sets) as [string, string];
    const second = await poll({ ack: [jti2], maxEvents: 2 });
    expect(Object.values(second.sets).map(subOf)).toEqual([subs[0], subs[2]]);

    // Poll with acknowledgement; a setErrs entry acknowledges too (the service could not process it).
    const third = await poll({
      ack: [jti1],
      setErrs: { [Object.keys(second.sets)[1]!]: { err: 'invalid_request', description: 'sub inconnu' } },
      maxEvents: 10,
    });
    expect(Object.values(third.sets).map(subOf)).toEqual(subs.slice(3));
    expect(third.moreAvailable).toBe(false);

    // Acknowledge-only request (maxEvents 0): nothing delivered, nothing left.
    const ackOnly = await poll({ ack: Object.keys(third.sets), maxEvents: 0 });
    expect(ackOnly).toEqual({ sets: {}, moreAvailable: false });
    expect((await poll({})).sets).toEqual({});
    // Everything is acknowledged now: the stream's mark moved past it; no row per SET is kept but
    // the one carrying the service's error report.
    const stream = await glc.services.db
      .selectFrom('security_event_streams')
      .select('acked_through')
      .where('client_id', '=', commune.clientId)
      .executeTakeFirstOrThrow();
    const last = await glc.services.db
      .selectFrom('deleted_accounts')
      .select('id')
      .where('client_id', '=', commune.clientId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(Number(stream.acked_through)).toBe(last.id);
    expect(
      await glc.services.db
        .selectFrom('security_event_acks')
        .select(['err', 'description'])
        .where('client_id', '=', commune.clientId)
        .execute(),
    ).toEqual([{ err: 'invalid_request', description: 'sub inconnu' }]);

    // A later deletion comes next; another service's acknowledgement of our jti changes nothing.
    const [later] = await deletedResident([commune.clientId]);
    const next = await poll({});
    expect(Object.values(next.sets).map(subOf)).toEqual([later]);
    await poll({ ack: Object.keys(next.sets), maxEvents: 0 }, otherToken);
    expect(Object.keys((await poll({})).sets)).toEqual(Object.keys(next.sets));
    // Unknown or forged jtis are ignored.
    const forged = Object.keys(next.sets)[0]!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    await poll({ ack: ['nimporte-quoi', forged], maxEvents: 0 });
    expect(Object.keys((await poll({})).sets)).toEqual(Object.keys(next.sets));
  });

  it('a long poll (returnImmediately false) answers as soon as a SET is ready', async () => {
    await drain();
    const pending = post({ maxEvents: 10 });
    const [sub] = await deletedResident([commune.clientId]);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(Object.values(((await res.json()) as PollResponse).sets).map(subOf)).toEqual([sub]);
  });
});

describe('errors (RFC 8936 §2.4, RFC 6750)', () => {
  it('refuses a missing or invalid token with 401, a token without deleted_accounts:read with 403', async () => {
    const missing = await post({}, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="GrandLyon Connect"/);
    expect(await missing.json()).toMatchObject({ err: 'authentication_failed' });

    const unknown = await post({}, 'pas-un-jeton');
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await unknown.json()).toMatchObject({ err: 'authentication_failed', description: expect.any(String) });

    const narrow = (await oidc.clientCredentialsGrant(commune.config, { scope: '' })).access_token;
    const forbidden = await post({}, narrow);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="deleted_accounts:read"/);
    expect(await forbidden.json()).toMatchObject({ err: 'access_denied' });

    // Only POST is defined.
    expect((await fetch(`${glc.config.issuer}/api/v1/security-events`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      405,
    );
  });

  it.each([
    ['not JSON', '{"ack": [', {}],
    ['not an object', '[1, 2]', {}],
    ['ack not an array', { ack: 'abc' }, {}],
    ['ack with a number', { ack: [12] }, {}],
    ['negative maxEvents', { maxEvents: -1 }, {}],
    ['fractional maxEvents', { maxEvents: 1.5 }, {}],
    ['maxEvents as text', { maxEvents: '10' }, {}],
    ['returnImmediately as text', { returnImmediately: 'yes' }, {}],
    ['setErrs without err', { setErrs: { abc: { description: 'x' } } }, {}],
    ['a form instead of JSON', 'maxEvents=10', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('%s → 400 invalid_request', async (_label, body, headers) => {
    const res = await post(body, token, headers);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ err: 'invalid_request', description: expect.any(String) });
  });
});

describe('description', () => {
  it('the OpenAPI document describes the poll endpoint', async () => {
    const doc = (await (await fetch(`${glc.config.issuer}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, { post?: { requestBody?: unknown; responses: Record<string, unknown> } }>;
    };
    const op = doc.paths['/security-events']?.post;
    expect(op?.requestBody).toBeTruthy();
    expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });
});

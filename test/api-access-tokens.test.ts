// The client-credentials tokens of GLC's own API are opaque: each is saved (with the other rows
// issued in the same turn) and the API reads it back. The API checks expiry, audience, the
// service's registration; revocation and introspection by the service are the provider's own, also
// when requests race and across instances. JWTs issued by earlier versions (RFC 9068) keep working
// for their last minutes: signature, issuer, audience, type, expiry and revocation are checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { randomBytes } from 'node:crypto';
import { registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';
import { startGlc, type RunningGlc } from '../src/server.js';
import { alterApiToken, legacyApiToken } from './support/api-tokens.js';

let glc: TestGlc;
let other: RunningGlc;
let issuer: string;
let commune: TestClient;
let neighbour: TestClient;

beforeAll(async () => {
  const secretsKey = randomBytes(32).toString('hex');
  glc = await startTestGlc({ SECRETS_KEY: secretsKey });
  issuer = glc.config.issuer;
  // A second instance on the same database, as behind the Métropole's load balancer.
  other = await startGlc({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    ISSUER: issuer,
    SECRETS_KEY: secretsKey,
    ...glc.database.env,
  });
  const cc = {
    grantTypes: ['authorization_code', 'client_credentials'] as ('authorization_code' | 'client_credentials')[],
    scope: 'openid deleted_accounts:read',
  };
  commune = await registerClient(glc, cc);
  neighbour = await registerClient(glc, cc);
});

afterAll(async () => {
  await other?.stop();
  await glc?.close();
});

const ccToken = async (client: TestClient) =>
  (await oidc.clientCredentialsGrant(client.config, { scope: 'deleted_accounts:read' })).access_token;

const api = (base: string, token: string) => fetch(`${base}/api/v1/deleted-accounts`, { headers: { authorization: `Bearer ${token}` } });

const payloadRows = async () =>
  Number(
    (
      await glc.services.db
        .selectFrom('oidc_payloads')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const tokenRow = (token: string) =>
  glc.services.db
    .selectFrom('oidc_payloads')
    .select(['payload', 'expires_at'])
    .where('model', '=', 'ClientCredentials')
    .where('id', '=', token)
    .executeTakeFirst();

describe('issuance', () => {
  it('is an opaque token for the API audience, about the service itself, saved once', async () => {
    const before = await payloadRows();
    const token = await ccToken(commune);
    expect(token.split('.')).toHaveLength(1);
    expect(await payloadRows()).toBe(before + 1);
    const row = await tokenRow(token);
    expect(row?.payload).toMatchObject({
      kind: 'ClientCredentials',
      clientId: commune.clientId,
      aud: `${issuer}/api`,
      scope: 'deleted_accounts:read',
    });
    // Kept exactly as long as the token can be used, then removed by cleanup-expired.
    const { iat, exp } = row!.payload as { iat: number; exp: number };
    expect(exp - iat).toBe(600);
    expect(row!.expires_at!.getTime()).toBeGreaterThanOrEqual((exp - 1) * 1000);
    expect(row!.expires_at!.getTime()).toBeLessThanOrEqual((exp + 1) * 1000);
    expect((await api(issuer, token)).status).toBe(200);
  });

  it('many at once: each its own row, each accepted', async () => {
    const before = await payloadRows();
    const tokens = await Promise.all(Array.from({ length: 24 }, () => ccToken(commune)));
    expect(new Set(tokens).size).toBe(24);
    expect(await payloadRows()).toBe(before + 24);
    const answers = await Promise.all(tokens.map((t, i) => api(i % 2 ? other.url : issuer, t)));
    expect(answers.map((a) => a.status)).toEqual(Array(24).fill(200));
  });

  it('refuses any other resource, and a resource at the authorization endpoint', async () => {
    const basic = `Basic ${Buffer.from(`${commune.clientId}:${commune.clientSecret}`).toString('base64')}`;
    const answer = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'deleted_accounts:read',
        resource: 'https://ailleurs.example/api',
      }),
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe('invalid_target');

    const url = new URL(`${issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: commune.clientId,
      redirect_uri: commune.redirectUri,
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      resource: `${issuer}/api`,
    }))
      url.searchParams.set(k, v);
    const auth = await fetch(url, { redirect: 'manual' });
    expect(auth.status).toBe(303);
    expect(new URL(auth.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });
});

describe('use at the API', () => {
  it('refuses an expired token, and one for another audience', async () => {
    const elsewhere = await ccToken(commune);
    await alterApiToken(glc, elsewhere, { aud: 'https://ailleurs.example/api' });
    expect((await api(issuer, elsewhere)).status).toBe(401);
    const token = await ccToken(commune);
    expect((await api(issuer, token)).status).toBe(200);
    await alterApiToken(glc, token);
    const expired = await api(issuer, token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('still accepts a JWT of an earlier version until its expiry, and refuses one whose signature, audience, type, issuer or expiry is not GLC’s', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await api(issuer, await legacyApiToken(glc, commune.clientId))).status).toBe(200);
    expect((await api(other.url, await legacyApiToken(glc, commune.clientId))).status).toBe(200);
    const forged = {
      stranger: await legacyApiToken(glc, commune.clientId, {}, { strangerKey: true }),
      expired: await legacyApiToken(glc, commune.clientId, { exp: now - 1 }),
      otherAudience: await legacyApiToken(glc, commune.clientId, { aud: 'https://ailleurs.example/api' }),
      otherIssuer: await legacyApiToken(glc, commune.clientId, { iss: 'https://ailleurs.example' }),
      idTokenType: await legacyApiToken(glc, commune.clientId, {}, { header: { typ: 'JWT' } }),
      residentSubject: await legacyApiToken(glc, commune.clientId, { sub: 'un-habitant' }),
      unsigned: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${(await legacyApiToken(glc, commune.clientId)).split('.')[1]}.`,
    };
    for (const [name, value] of Object.entries(forged)) {
      const res = await api(issuer, value);
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toContain('error="invalid_token"');
    }
  });

  it('is accepted by another instance, and refused by every instance once its service is disabled', async () => {
    const client = await registerClient(glc, { grantTypes: ['client_credentials'], scope: 'deleted_accounts:read', redirectUris: [] });
    const token = await ccToken(client);
    expect((await api(other.url, token)).status).toBe(200);
    await glc.services.clients.setEnabled(client.clientId, false);
    await expect.poll(async () => (await api(other.url, token)).status, { timeout: 5_000 }).toBe(401);
    expect((await api(issuer, token)).status).toBe(401);
  });
});

describe('revocation and introspection by the service', () => {
  it('revokes its own token on every instance; another service can neither revoke nor introspect it', async () => {
    const token = await ccToken(commune);
    expect(await oidc.tokenIntrospection(commune.config, token)).toMatchObject({
      active: true,
      client_id: commune.clientId,
      scope: 'deleted_accounts:read',
    });
    expect((await oidc.tokenIntrospection(neighbour.config, token)).active).toBe(false);

    // Another service's revocation is answered 200 (RFC 7009 §2.2) and changes nothing.
    await oidc.tokenRevocation(neighbour.config, token);
    expect((await api(issuer, token)).status).toBe(200);

    // Revoked through one instance, ten times at once: refused by both instances, introspected inactive.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${issuer}/token/revocation`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${commune.clientId}:${commune.clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect((await api(issuer, token)).status).toBe(401);
    expect((await api(other.url, token)).status).toBe(401);
    expect((await oidc.tokenIntrospection(commune.config, token)).active).toBe(false);
    expect(await tokenRow(token)).toBeUndefined();

    // A fresh token of the same service is not affected.
    expect((await api(issuer, await ccToken(commune))).status).toBe(200);
  });

  it('revokes and introspects a JWT of an earlier version as before', async () => {
    const token = await legacyApiToken(glc, commune.clientId);
    expect(await oidc.tokenIntrospection(commune.config, token)).toMatchObject({ active: true, client_id: commune.clientId });
    expect((await oidc.tokenIntrospection(neighbour.config, token)).active).toBe(false);
    await oidc.tokenRevocation(neighbour.config, token);
    expect((await api(issuer, token)).status).toBe(200);
    await oidc.tokenRevocation(commune.config, token);
    expect((await api(issuer, token)).status).toBe(401);
    expect((await api(other.url, token)).status).toBe(401);
    const revoked = await glc.services.db
      .selectFrom('oidc_payloads')
      .select(['expires_at'])
      .where('model', '=', 'RevokedApiToken')
      .where('id', '=', decodeJwt(token).jti!)
      .execute();
    expect(revoked[0]?.expires_at?.getTime()).toBe(decodeJwt(token).exp! * 1000);
  });

  it('needs the service to authenticate: without it, the token stays valid', async () => {
    const token = await ccToken(commune);
    const answer = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: commune.clientId }),
    });
    expect(answer.status).toBe(401);
    expect((await api(issuer, token)).status).toBe(200);
  });
});

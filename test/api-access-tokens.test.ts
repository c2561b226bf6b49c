// The client-credentials tokens of GLC's own API are JWTs (RFC 9068): nothing is written when one
// is issued, and the API checks signature, issuer, audience, type, expiry, the service's
// registration and the revocation list. Revocation and introspection by the service keep
// working as with an opaque token, also when requests race and across instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import { registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';
import { startGlc, type RunningGlc } from '../src/server.js';
import { resignApiToken } from './support/api-tokens.js';

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

describe('issuance', () => {
  it('is a signed at+jwt for the API audience, about the service itself, and writes nothing', async () => {
    const before = await payloadRows();
    const token = await ccToken(commune);
    expect(await payloadRows()).toBe(before);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer,
      aud: `${issuer}/api`,
      client_id: commune.clientId,
      sub: commune.clientId,
      scope: 'deleted_accounts:read',
    });
    expect(claims.exp! - claims.iat!).toBe(600);
    expect((await api(issuer, token)).status).toBe(200);
    // Signed by node:crypto (oidc/node-signing-key.ts): verified with the published keys like any JWS.
    const verified = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, typ: 'at+jwt' });
    expect(verified.payload.jti).toBe(claims.jti);
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
  it('refuses a token whose signature, audience, type, issuer or expiry is not GLC’s', async () => {
    const token = await ccToken(commune);
    const now = Math.floor(Date.now() / 1000);
    const forged = {
      stranger: await resignApiToken(glc, token, {}, { strangerKey: true }),
      expired: await resignApiToken(glc, token, { exp: now - 1 }),
      otherAudience: await resignApiToken(glc, token, { aud: 'https://ailleurs.example/api' }),
      otherIssuer: await resignApiToken(glc, token, { iss: 'https://ailleurs.example' }),
      idTokenType: await resignApiToken(glc, token, {}, { header: { typ: 'JWT' } }),
      residentSubject: await resignApiToken(glc, token, { sub: 'un-habitant' }),
      unsigned: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${token.split('.')[1]}.`,
    };
    // Control: re-signed unchanged with GLC's key, it is accepted.
    expect((await api(issuer, await resignApiToken(glc, token, {}))).status).toBe(200);
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
    const revoked = await glc.services.db
      .selectFrom('oidc_payloads')
      .select(['expires_at'])
      .where('model', '=', 'RevokedApiToken')
      .where('id', '=', decodeJwt(token).jti!)
      .execute();
    // Kept exactly as long as the token could have been used, then removed by cleanup-expired.
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.expires_at?.getTime()).toBe(decodeJwt(token).exp! * 1000);

    // A fresh token of the same service is not affected.
    expect((await api(issuer, await ccToken(commune))).status).toBe(200);
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

// The full authorization code flow with PKCE, seen by an openid-client relying party.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { authorizationRequest, newResidentAuthorizes, registerClient, startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
});
afterAll(async () => {
  await glc?.close();
});

describe('discovery and keys', () => {
  it('publishes an OpenID configuration for code flow with S256 PKCE only', async () => {
    const res = await fetch(`${glc.config.issuer}/.well-known/openid-configuration`);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(glc.config.issuer);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.subject_types_supported).toEqual(expect.arrayContaining(['pairwise', 'public']));
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'identite_pivot', 'deleted_accounts:read']),
    );
  });

  it('publishes one ES256 and one RS256 public key and no private part', async () => {
    const jwks = (await (await fetch(`${glc.config.issuer}/jwks`)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
  });
});

describe('code flow', () => {
  it('signs up, confirms the email, logs in, consents and gets verified tokens and userinfo', async () => {
    const client = await registerClient(glc, { userinfoSignedAlg: 'ES256' });
    const pending = await authorizationRequest(client);
    const { callback } = await newResidentAuthorizes(glc, client, pending, 'camille@example.fr');
    expect(callback.searchParams.get('iss')).toBe(glc.config.issuer);

    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(glc.config.issuer);
    expect(claims.aud).toBe(client.clientId);
    expect(claims.sub).toMatch(/^[0-9a-f]{64}$/); // pairwise by default
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.acr).toBeUndefined(); // eidas1 is reserved to FranceConnect logins

    // This client registered for signed userinfo: openid-client verifies the JWT.
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, claims.sub);
    expect(userinfo.email).toBe('camille@example.fr');
    expect(userinfo.email_verified).toBe(true);

    const plain = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/other'] });
    const pending2 = await authorizationRequest(plain);
    const { callback: cb2 } = await newResidentAuthorizes(glc, plain, pending2, 'dominique@example.fr');
    const t2 = await oidc.authorizationCodeGrant(plain.config, cb2, {
      pkceCodeVerifier: pending2.verifier,
      expectedState: pending2.state,
      expectedNonce: pending2.nonce,
    });
    const res = await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${t2.access_token}` } });
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await res.json()) as { email: string }).email).toBe('dominique@example.fr');
    // A signed userinfo from the first client verifies with the published keys.
    const signed = await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(signed.headers.get('content-type')).toMatch(/application\/jwt/);
    const { payload } = await jose.jwtVerify(await signed.text(), jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
      issuer: glc.config.issuer,
      audience: client.clientId,
    });
    expect(payload.email).toBe('camille@example.fr');
  });
});

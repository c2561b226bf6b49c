// Protocol behaviours of the provider beyond the happy path: refresh rotation, revocation,
// introspection, client credentials, logout, and every refusal the foundation promises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { sql } from 'kysely';
import { Browser } from './support/browser.js';
import { atOnce, rawServicePost } from './support/at-once.js';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startBackchannelReceiver,
  startTestGlc,
  eventually,
  type TestClient,
  type TestGlc,
} from './support/glc.js';

let glc: TestGlc;
let n = 0;
const email = () => `resident${++n}@example.fr`;

beforeAll(async () => {
  glc = await startTestGlc({ QUEUE_RETRY_DELAY_SECONDS: '1' });
});
afterAll(async () => {
  await glc?.close();
});

async function codeFor(client: TestClient, params: Record<string, string> = {}) {
  const pending = await authorizationRequest(client, params);
  const { browser, callback } = await newResidentAuthorizes(glc, client, pending, email());
  return { pending, browser, callback };
}

async function tokensFor(client: TestClient, params: Record<string, string> = {}) {
  const { pending, browser, callback } = await codeFor(client, params);
  const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
  return { tokens, browser };
}

async function tokenRequest(client: TestClient, body: Record<string, string>, secret = client.clientSecret!) {
  return fetch(`${glc.config.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(body),
  });
}

async function userinfoStatus(accessToken: string) {
  return (await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

describe('refresh tokens', () => {
  it('rotates refresh tokens, and reuse of a rotated one revokes the whole grant', async () => {
    const client = await registerClient(glc, { scope: 'openid email offline_access', grantTypes: ['authorization_code', 'refresh_token'] });
    const { tokens } = await tokensFor(client, { scope: 'openid email offline_access', prompt: 'consent' });
    expect(tokens.refresh_token).toBeTruthy();

    const second = await oidc.refreshTokenGrant(client.config, tokens.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    expect(await userinfoStatus(second.access_token)).toBe(200);

    // Replay of the first (rotated) refresh token: refused, and everything of the grant is revoked.
    await expect(oidc.refreshTokenGrant(client.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(client.config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await userinfoStatus(second.access_token)).toBe(401);
  });

  it('issues no refresh token to a client not allowed offline_access', async () => {
    const client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/no-refresh'] });
    const { tokens } = await tokensFor(client);
    expect(tokens.refresh_token).toBeUndefined();
  });
});

describe('revocation and introspection', () => {
  it('introspects an active token for its own client only, and revocation makes it inactive', async () => {
    const client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/intro'] });
    const other = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/other-intro'] });
    const { tokens } = await tokensFor(client);

    const own = await oidc.tokenIntrospection(client.config, tokens.access_token);
    expect(own.active).toBe(true);
    expect(own.client_id).toBe(client.clientId);
    expect(own.sub).toBe(tokens.claims()!.sub);
    expect((await oidc.tokenIntrospection(other.config, tokens.access_token)).active).toBe(false);

    await oidc.tokenRevocation(client.config, tokens.access_token);
    expect((await oidc.tokenIntrospection(client.config, tokens.access_token)).active).toBe(false);
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
  });
});

describe('client credentials', () => {
  it('gives a service an access token for its allowed scope only', async () => {
    const client = await registerClient(glc, { grantTypes: ['client_credentials'], scope: 'deleted_accounts:read', redirectUris: [] });
    const tokens = await oidc.clientCredentialsGrant(client.config, { scope: 'deleted_accounts:read' });
    expect(tokens.scope).toBe('deleted_accounts:read');
    const info = await oidc.tokenIntrospection(client.config, tokens.access_token);
    expect(info).toMatchObject({ active: true, client_id: client.clientId, scope: 'deleted_accounts:read' });
    await expect(oidc.clientCredentialsGrant(client.config, { scope: 'openid profile' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });
});

describe('logout', () => {
  it('asks in French, logs out, returns to the registered URI, and sends back-channel logout', async () => {
    const receiver = await startBackchannelReceiver();
    const received = receiver.tokens;
    try {
      const client = await registerClient(glc, {
        redirectUris: ['http://127.0.0.1:9/logout-rp'],
        postLogoutRedirectUris: ['http://127.0.0.1:9/logged-out'],
        backchannelLogoutUri: receiver.url,
      });
      const { tokens, browser } = await tokensFor(client);
      const endUrl = oidc.buildEndSessionUrl(client.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'http://127.0.0.1:9/logged-out',
        state: 'etat-123',
      });
      const confirm = await browser.get(endUrl.href);
      expect(confirm.status).toBe(200);
      expect(confirm.html).toContain('Voulez-vous vous déconnecter');
      const done = await browser.follow(await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' }), (u) => u.port === '9');
      expect(done.location).toBe('http://127.0.0.1:9/logged-out?state=etat-123');

      expect(received).toHaveLength(1);
      const { payload } = await jose.jwtVerify(received[0]!, jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
        issuer: glc.config.issuer,
        audience: client.clientId,
      });
      expect(payload.sub).toBe(tokens.claims()!.sub);
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload.sid).toBeTruthy();

      // The session is gone: a new authorization asks for the login again.
      const pending = await authorizationRequest(client);
      const page = await browser.follow(await browser.get(pending.url.href));
      expect(page.html).toContain('name="password"');
    } finally {
      await receiver.close();
    }
  });
});

describe('logout to a service that is down', () => {
  it('retries the back-channel logout through the queue until the service answers', async () => {
    const receiver = await startBackchannelReceiver({ down: true });
    try {
      const client = await registerClient(glc, {
        redirectUris: ['http://127.0.0.1:9/logout-down'],
        postLogoutRedirectUris: ['http://127.0.0.1:9/logged-out'],
        backchannelLogoutUri: receiver.url,
      });
      const { tokens, browser } = await tokensFor(client);
      const endUrl = oidc.buildEndSessionUrl(client.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: 'http://127.0.0.1:9/logged-out',
      });
      const confirm = await browser.get(endUrl.href);
      await browser.follow(await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' }), (u) => u.port === '9');
      expect(receiver.refused()).toBeGreaterThan(0); // oidc-provider's own attempt failed
      expect(receiver.tokens).toHaveLength(0);

      receiver.up();
      await eventually(() => receiver.tokens.length > 0, 30_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(receiver.tokens).toHaveLength(1);
      const { payload } = await jose.jwtVerify(receiver.tokens[0]!, jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
        issuer: glc.config.issuer,
        audience: client.clientId,
      });
      expect(payload.sub).toBe(tokens.claims()!.sub);
      expect(payload.sid).toBeTruthy();
    } finally {
      await receiver.close();
    }
  });
});

describe('refusals', () => {
  let client: TestClient;
  beforeAll(async () => {
    client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/refusals'] });
  });

  it('refuses an authorization request without PKCE, and with plain PKCE', async () => {
    const browser = new Browser(glc.config.issuer);
    const base = {
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      response_type: 'code',
      scope: 'openid',
      state: 's'.repeat(20),
      nonce: 'n'.repeat(20),
    };
    const none = await browser.get(`/auth?${new URLSearchParams(base)}`);
    expect(callbackUrl(none).searchParams.get('error')).toBe('invalid_request');
    const plain = await browser.get(
      `/auth?${new URLSearchParams({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })}`,
    );
    expect(callbackUrl(plain).searchParams.get('error')).toBe('invalid_request');
    expect(callbackUrl(plain).origin).toBe('http://127.0.0.1:9');
  });

  it('requires PKCE only: a request without state nor nonce succeeds with PKCE; a nonce sent comes back in the ID token', async () => {
    // What GLC enforces (RFC 9700 §2.1.1): PKCE S256 and the `iss` response parameter stop code
    // injection and mix-up; state and nonce are the service's own checks, optional here.
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(client.config, {
      redirect_uri: client.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.has('state')).toBe(false);
    expect(url.searchParams.has('nonce')).toBe(false);
    const { callback } = await newResidentAuthorizes(glc, client, { url, state: '', nonce: '', verifier }, email());
    expect(callback.searchParams.has('state')).toBe(false);
    expect(callback.searchParams.get('iss')).toBe(glc.config.issuer);
    const tokens = await oidc.authorizationCodeGrant(client.config, callback, { pkceCodeVerifier: verifier });
    expect(tokens.claims()!.nonce).toBeUndefined();

    // With a nonce, the ID token carries it (openid-client refuses a different one).
    const withNonce = await codeFor(client, { nonce: 'nonce-unique-de-la-tentative' });
    const checked = await oidc.authorizationCodeGrant(client.config, withNonce.callback, {
      pkceCodeVerifier: withNonce.pending.verifier,
      expectedState: withNonce.pending.state,
      expectedNonce: 'nonce-unique-de-la-tentative',
    });
    expect(checked.claims()!.nonce).toBe('nonce-unique-de-la-tentative');
    const replay = await codeFor(client, { nonce: 'nonce-a' });
    const refused = await oidc
      .authorizationCodeGrant(client.config, replay.callback, {
        pkceCodeVerifier: replay.pending.verifier,
        expectedState: replay.pending.state,
        expectedNonce: 'nonce-b',
      })
      .catch((e: Error & { cause?: { cause?: { claim?: string } } }) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error & { cause?: { cause?: { claim?: string } } }).cause?.cause?.claim).toBe('nonce');
  });

  it('refuses an unregistered redirect URI with a French page and no redirect', async () => {
    const pending = await authorizationRequest(client, { redirect_uri: 'http://127.0.0.1:9/refusals/other' });
    const page = await new Browser(glc.config.issuer).get(pending.url.href);
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.html).toContain('adresse de retour non autorisée');
    expect(page.html).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a replayed code and revokes the tokens of its first use', async () => {
    const { pending, callback } = await codeFor(client);
    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    expect(await userinfoStatus(tokens.access_token)).toBe(200);
    const replay = await tokenRequest(client, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: client.redirectUri,
      code_verifier: pending.verifier,
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
  });

  it('redeems a code once when two redemptions race', async () => {
    const { pending, callback } = await codeFor(client);
    const body = {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: client.redirectUri,
      code_verifier: pending.verifier,
    };
    // Written at the same instant on warmed connections: every request reads the code before any
    // consumes it, and the conditional update decides.
    const port = Number(new URL(glc.url).port);
    const request = rawServicePost('/token', client, new URLSearchParams(body).toString());
    const results = await atOnce([1, 2, 3].map(() => ({ port, request })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(2);
  });

  it('refuses a wrong client secret, an expired code and a disabled client', async () => {
    const { pending, callback } = await codeFor(client);
    const body = {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: client.redirectUri,
      code_verifier: pending.verifier,
    };
    const wrong = await tokenRequest(client, body, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');

    // Expire the code the way time would: its row's expiry is now in the past.
    await glc.services.db
      .updateTable('oidc_payloads')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('model', '=', 'AuthorizationCode')
      .execute();
    const expired = await tokenRequest(client, body);
    expect(expired.status).toBe(400);
    expect(((await expired.json()) as { error: string }).error).toBe('invalid_grant');

    await glc.services.clients.setEnabled(client.clientId, false);
    try {
      const disabled = await tokenRequest(client, body);
      expect(disabled.status).toBe(401);
      const page = await new Browser(glc.config.issuer).get((await authorizationRequest(client)).url.href);
      expect(page.status).toBe(400);
      expect(page.html).toContain('n’est pas reconnu');
    } finally {
      await glc.services.clients.setEnabled(client.clientId, true);
    }
  });
});

// The registration and the kit are the contract: a service authenticates the way it registered,
// client_credentials gives API scopes only, data the resident declined is simply absent (even
// with prompt=none), and API dates that do not exist are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startTestGlc,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import type { Browser, Page } from './support/browser.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
}, 60_000);
afterAll(async () => {
  await glc?.close();
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

async function token(
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL('/token', glc.url), {
    method: 'POST',
    headers: { ...form, ...headers },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('token endpoint authentication method', () => {
  it('a client registered client_secret_basic cannot authenticate with client_secret_post, and the other way round', async () => {
    const registered = (method: 'client_secret_basic' | 'client_secret_post') =>
      glc.services.clients.add({
        name: `S ${method}`,
        organisation: 'Commune',
        scope: 'openid deleted_accounts:read',
        grantTypes: ['authorization_code', 'client_credentials'],
        redirectUris: ['http://127.0.0.1:9/cb'],
        authMethod: method,
      });
    const basicClient = await registered('client_secret_basic');
    const postClient = await registered('client_secret_post');
    const grant = { grant_type: 'client_credentials', scope: 'deleted_accounts:read' };

    expect((await token(grant, { authorization: basic(basicClient.clientId, basicClient.clientSecret!) })).status).toBe(200);
    const wrongPost = await token({ ...grant, client_id: basicClient.clientId, client_secret: basicClient.clientSecret! });
    expect(wrongPost.status).toBe(401);
    expect(wrongPost.body.error).toBe('invalid_client');

    expect((await token({ ...grant, client_id: postClient.clientId, client_secret: postClient.clientSecret! })).status).toBe(200);
    const wrongBasic = await token(grant, { authorization: basic(postClient.clientId, postClient.clientSecret!) });
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.body.error).toBe('invalid_client');
  });
});

describe('client_credentials', () => {
  it('obtains API scopes only: openid, profile, email… are refused', async () => {
    const c = await glc.services.clients.add({
      name: 'Portail',
      organisation: 'Commune',
      scope: 'openid profile email deleted_accounts:read',
      grantTypes: ['authorization_code', 'client_credentials'],
      redirectUris: ['http://127.0.0.1:9/cb'],
    });
    const auth = { authorization: basic(c.clientId, c.clientSecret!) };
    for (const scope of ['openid', 'openid profile', 'profile', 'email deleted_accounts:read', 'offline_access']) {
      const answer = await token({ grant_type: 'client_credentials', scope }, auth);
      expect(answer.status, scope).toBe(400);
      expect(answer.body.error, scope).toBe('invalid_scope');
    }
    const ok = await token({ grant_type: 'client_credentials', scope: 'deleted_accounts:read' }, auth);
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('deleted_accounts:read');
    // No scope asked: the token carries no identity scope either.
    const none = await token({ grant_type: 'client_credentials' }, auth);
    expect(String(none.body.scope ?? '')).not.toMatch(/openid|profile|email/);
  });
});

describe('prompt=none and a declined optional datum', () => {
  let client: TestClient;
  let browser: Browser;

  beforeAll(async () => {
    client = await registerClient(glc, {
      scope: 'openid profile email phone',
      claimsRequired: ['given_name'],
      claimsOptional: ['phone_number', 'birthdate', 'email'],
    });
    const pending = await authorizationRequest(client, { scope: 'openid profile email phone' });
    // First visit: the resident signs up, consents to the required data and leaves phone_number unticked.
    browser = (await newResidentAuthorizes(glc, client, pending, 'declin@example.fr')).browser;
    const account = (await glc.services.accountStore.findByEmail('declin@example.fr'))!;
    const consent = (await glc.services.consent.exportFor(account.id)).consents.find((c) => c.service.client_id === client.clientId)!;
    expect(consent.declined).toEqual(expect.arrayContaining(['phone_number', 'email']));
  }, 60_000);

  async function silently(params: Record<string, string>): Promise<URL> {
    const pending = await authorizationRequest(client, { prompt: 'none', ...params });
    const page: Page = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
    return callbackUrl(page);
  }

  it.each(['openid profile phone', 'openid phone', 'openid profile email phone'])(
    'asking again by scope (%s) answers with a code, not consent_required',
    async (scope) => {
      const back = await silently({ scope });
      expect(back.searchParams.get('error')).toBeNull();
      expect(back.searchParams.get('code')).toBeTruthy();
    },
  );

  it('asking again by the claims parameter answers with a code, and the datum stays absent', async () => {
    const pending = await authorizationRequest(client, {
      prompt: 'none',
      scope: 'openid profile',
      claims: JSON.stringify({ userinfo: { phone_number: { essential: true } }, id_token: { phone_number: null } }),
    });
    const page = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
    const back = callbackUrl(page);
    expect(back.searchParams.get('error')).toBeNull();
    const tokens = await oidc.authorizationCodeGrant(client.config, back, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    expect(tokens.claims()).not.toHaveProperty('phone_number');
    const info = await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub);
    expect(info).not.toHaveProperty('phone_number');
  });
});

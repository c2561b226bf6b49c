// GET /metrics: closed unless METRICS_TOKEN is set, then only with that bearer token; the
// counters follow what residents and services do (logins, consent, tokens, requests by route).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { Browser } from './support/browser.js';
import {
  authorizationRequest,
  callbackUrl,
  followToCallback,
  registerClient,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import { hashPassword } from '../src/accounts/passwords.js';

const TOKEN = 'metrics-token-for-the-test-0123456789abcdef';

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (wanted.every((w) => labelPart.split(',').includes(w))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('metrics endpoint', () => {
  let glc: TestGlc;
  let closed: TestGlc;
  let client: TestClient;
  const scrape = async () => {
    const res = await fetch(`${glc.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  beforeAll(async () => {
    [glc, closed] = await Promise.all([startTestGlc({ METRICS_TOKEN: TOKEN }), startTestGlc()]);
    client = await registerClient(glc);
    await glc.services.accountStore.create({
      email: 'mesure@example.fr',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
  });
  afterAll(async () => {
    await Promise.all([glc?.close(), closed?.close()]);
  });

  it('does not exist without METRICS_TOKEN', async () => {
    const res = await fetch(`${closed.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/json' } });
    expect(res.status).toBe(404);
  });

  it('answers 401 without the token or with another one', async () => {
    const none = await fetch(`${glc.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain('glc_');
    const wrong = await fetch(`${glc.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
  });

  it('counts logins by outcome, consent, tokens by grant and requests by route pattern', async () => {
    const before = await scrape();
    expect(before).toContain('process_resident_memory_bytes');
    expect(before).toContain('nodejs_eventloop_lag_seconds');
    expect(before).toContain('glc_db_pool_max_connections');
    expect(sample(before, 'glc_signing_key_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(before).toMatch(/^glc_signing_key_age_seconds \d/m);
    expect(before).toMatch(/^glc_password_hashing\{state="waiting"\} 0$/m);
    expect(before).toMatch(/^glc_password_hashing\{state="active"\} 0$/m);

    const pending = await authorizationRequest(client);
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get(pending.url.href));
    const refused = await browser.submit(login, /\/login$/, { email: 'mesure@example.fr', password: 'pas le bon mot de passe' });
    expect(refused.status).toBe(401);
    let page = await browser.follow(
      await browser.submit(refused, /\/login$/, { email: 'mesure@example.fr', password: STRONG_PASSWORD }),
      (u) => u.href.startsWith(client.redirectUri),
    );
    if (!page.location?.startsWith(client.redirectUri))
      page = await followToCallback(browser, await browser.submit(page, /\/consent$/), client.redirectUri);
    await oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('glc_logins_total', { method: 'password', outcome: 'success' })).toBe(1);
    expect(delta('glc_logins_total', { method: 'password', outcome: 'invalid' })).toBe(1);
    expect(delta('glc_consent_decisions_total', { decision: 'granted' })).toBe(1);
    expect(delta('glc_tokens_issued_total', { grant_type: 'authorization_code' })).toBe(1);
    expect(delta('glc_http_request_duration_seconds_count', { route: '/token', method: 'POST', status: '2xx' })).toBe(1);
    expect(delta('glc_http_request_duration_seconds_count', { route: '/interaction/:uid/login', method: 'POST', status: '4xx' })).toBe(1);
    // Route labels are patterns: no interaction uid, code or email in any label.
    const uid = new URL(login.url).pathname.split('/')[2]!;
    expect(after).not.toContain(uid);
    expect(after).not.toContain('mesure@example.fr');
  });

  it('counts client-credentials tokens', async () => {
    const before = sample(await scrape(), 'glc_tokens_issued_total', { grant_type: 'client_credentials' });
    const { clientId, clientSecret } = await glc.services.clients.add({
      name: 'Commune',
      grantTypes: ['client_credentials'],
      scope: 'deleted_accounts:read',
      redirectUris: [],
    });
    const res = await fetch(`${glc.url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
    });
    expect(res.status).toBe(200);
    expect(sample(await scrape(), 'glc_tokens_issued_total', { grant_type: 'client_credentials' }) - before).toBe(1);
  });
});

// Behind the load balancer: the client IP is the address the nearest trusted proxy saw (the
// right-most X-Forwarded-For entries), whatever the client wrote before it; the same setting
// reaches oidc-provider; in production every cookie is Secure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import type { RunningGlc } from '../src/server.js';
import { THROTTLE } from '../src/accounts/throttle-rules.js';
import { Browser, type Page } from './support/browser.js';
import {
  authorizationRequest,
  registerClient,
  startSecondInstance,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
} from './support/glc.js';

describe('TRUST_PROXY_HOPS', () => {
  it('reads the number of hops; TRUST_PROXY=true still means one, false none; contradictions are refused', () => {
    expect(loadConfig({}).trustProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY_HOPS: '2' }).trustProxyHops).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxyHops).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2' }).trustProxyHops).toBe(2);
    expect(() => loadConfig({ TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY_HOPS: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY_HOPS: '-1' })).toThrow(ConfigError);
  });
});

describe('forged X-Forwarded-For behind one trusted proxy', () => {
  let glc: TestGlc;
  let direct: RunningGlc;
  let client: TestClient;

  beforeAll(async () => {
    glc = await startTestGlc({ TRUST_PROXY_HOPS: '1' });
    // Same database, no proxy trusted: X-Forwarded-For is nobody's word there.
    direct = await startSecondInstance(glc, { TRUST_PROXY_HOPS: '0' });
    client = await registerClient(glc);
  }, 60_000);
  afterAll(async () => {
    await direct?.stop();
    await glc?.close();
  });

  async function loginPage(base: string, headers: Record<string, string>): Promise<{ browser: Browser; page: Page }> {
    const browser = new Browser(base);
    const pending = await authorizationRequest(client);
    const page = await browser.follow(await browser.request(new URL(pending.url.pathname + pending.url.search, base).href, { headers }));
    return { browser, page };
  }

  /** The proxy appended 192.0.2.10 (the address it saw); the client wrote a new address before it each time. */
  const forged = (i: number, seen = '192.0.2.10') => ({ 'x-forwarded-for': `198.51.100.${i}, ${seen}` });

  async function failLogin(base: string, i: number, headers: Record<string, string>): Promise<number> {
    const { browser, page } = await loginPage(base, headers);
    const form = /<form\b[^>]*action="([^"]*\/login)"[\s\S]*?name="_csrf" value="([^"]*)"/.exec(page.html);
    if (!form) throw new Error(`no login form at ${page.url}`);
    const answer = await browser.request(new URL(form[1]!, page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ _csrf: form[2]!, email: `inconnu${i}@example.fr`, password: 'mauvais mot de passe' }),
    });
    return answer.status;
  }

  it('30 failed logins, each with a new forged left-hand address, hit the per-IP limit of the address the proxy saw', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await failLogin(glc.url, i, forged(i)));
    const firstBlocked = statuses.indexOf(429);
    expect(firstBlocked).toBe(THROTTLE.loginFreeFailuresPerIp);
    expect(statuses.slice(firstBlocked).every((s) => s === 429)).toBe(true);
    // Another resident behind the same proxy (another address seen by it) is not blocked.
    expect(await failLogin(glc.url, 99, forged(99, '192.0.2.77'))).toBe(401);
  }, 120_000);

  it('without a trusted proxy, X-Forwarded-For is ignored: the socket address is the client', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < THROTTLE.loginFreeFailuresPerIp + 1; i++)
      statuses.push(await failLogin(direct.url, 100 + i, { 'x-forwarded-for': `203.0.113.${i}` }));
    expect(statuses.at(-1)).toBe(429);
  }, 120_000);

  it('14 sign-ups with forged left-hand addresses: the 11th and later are refused', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const headers = forged(i, '192.0.2.20');
      const { browser, page } = await loginPage(glc.url, headers);
      const signup = await browser.request(new URL(/href="([^"]*\/inscription)"/.exec(page.html)![1]!, page.url).href, { headers });
      const form = /<form\b[^>]*action="([^"]*\/inscription)"[\s\S]*?name="_csrf" value="([^"]*)"/.exec(signup.html)!;
      const answer = await browser.request(new URL(form[1]!, signup.url).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({
          _csrf: form[2]!,
          email: `nouveau${i}@example.fr`,
          password: STRONG_PASSWORD,
          passwordConfirmation: STRONG_PASSWORD,
        }),
      });
      statuses.push(answer.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(THROTTLE.signUpsPerIp);
    expect(statuses.slice(THROTTLE.signUpsPerIp).every((s) => s === 429)).toBe(true);
  }, 120_000);

  it('oidc-provider follows the same setting: X-Forwarded-Proto https from the trusted proxy makes its cookies Secure, and only there', async () => {
    const pending = await authorizationRequest(client);
    const path = pending.url.pathname + pending.url.search;
    const viaProxy = await fetch(new URL(path, glc.url), {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.30' },
    });
    const interaction = viaProxy.headers.getSetCookie().filter((c) => c.startsWith('glc.interaction='));
    expect(interaction.length).toBeGreaterThan(0);
    expect(interaction.every((c) => /;\s*secure/i.test(c))).toBe(true);
    const notTrusted = await fetch(new URL(path, direct.url), { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    const plain = notTrusted.headers.getSetCookie().filter((c) => c.startsWith('glc.interaction='));
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.some((c) => /;\s*secure/i.test(c))).toBe(false);
  });
});

describe('in production', () => {
  let glc: TestGlc | undefined;
  afterAll(async () => {
    await glc?.close();
  });

  it('every cookie is Secure even when the request came in plain http with no X-Forwarded-Proto', async () => {
    glc = await startTestGlc({
      NODE_ENV: 'production',
      ISSUER: 'https://connect.example.fr',
      SECRETS_KEY: 'b'.repeat(64),
      SMTP_URL: 'smtp://127.0.0.1:9',
      FC_ISSUER: 'https://franceconnect.example.fr/api/v2',
      FC_CLIENT_ID: 'id',
      FC_CLIENT_SECRET: 'secret',
      SUPPORT_EMAIL: 'assistance@example.fr',
    });
    const client = await glc.services.clients.add({
      name: 'Service',
      organisation: 'Commune',
      scope: 'openid',
      redirectUris: ['https://service.example.fr/callback'],
    });
    const auth = new URL('/auth', glc.url);
    auth.search = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: 'https://service.example.fr/callback',
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
      state: 's',
    }).toString();
    const fromProvider = (await fetch(auth, { redirect: 'manual' })).headers.getSetCookie();
    const fromGlc = (await fetch(new URL('/mot-de-passe-oublie', glc.url))).headers.getSetCookie();
    expect(fromProvider.some((c) => c.startsWith('glc.interaction='))).toBe(true);
    expect(fromGlc.some((c) => c.startsWith('glc.csrf='))).toBe(true);
    for (const cookie of [...fromProvider, ...fromGlc]) expect(cookie).toMatch(/;\s*secure/i);
  }, 60_000);
});

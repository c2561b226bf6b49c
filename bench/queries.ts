// Database round trips per request of the hot paths (client credentials, code flow, userinfo),
// with the statements: npm run bench -- queries   (or npx tsx bench/queries.ts [--sql])
// Counts every query sent by pg's clients of this process while one request is served (the
// queue's polling excepted).
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { startGlc } from '../src/server.js';
import { createTestDatabase } from '../test/support/database.js';
import { freePort } from '../test/support/glc.js';
import { Browser } from '../test/support/browser.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { toCallback } from './flow-support.js';
import { codeChallenge, randomUrlSafe } from './pkce.js';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const statements: string[] = [];
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string };
  const text = typeof first === 'string' ? first : (first?.text ?? '?');
  // The queue's workers poll on their own connections, on their own clock, and a new connection's
  // setup (fast-commit pool) is not the request's either.
  if (!text.includes('pgboss.') && !text.startsWith('set synchronous_commit')) statements.push(text);
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

// A failed request makes fewer queries: a count is only meaningful for a request that succeeded.
async function succeeded<T>(response: Response, field: string): Promise<T> {
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok || !(field in body)) throw new Error(`request failed (${response.status}): ${JSON.stringify(body)}`);
  return body as T;
}

async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; queries: string[] }> {
  await new Promise((r) => setTimeout(r, 50)); // let fire-and-forget writes of the previous step land
  statements.length = 0;
  const value = await fn();
  await new Promise((r) => setTimeout(r, 50));
  return { value, queries: [...statements] };
}

export async function benchQueries(): Promise<Record<string, number | string>[]> {
  const database = await createTestDatabase();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const glc = await startGlc({
    NODE_ENV: 'development',
    PORT: String(port),
    ISSUER: issuer,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    SECRETS_KEY: randomBytes(32).toString('hex'),
    ...database.env,
  });
  await new Promise((r) => setTimeout(r, 2_500)); // the jobs' first turn, 1 s after start, is not a request's
  const rows: Record<string, number | string>[] = [];
  const show = process.argv.includes('--sql');
  const report = (scenario: string, queries: string[]) => {
    rows.push({ scenario, 'db round trips': queries.length });
    if (show) console.log(`\n${scenario}\n${queries.map((q) => `  ${q.replace(/\s+/g, ' ').slice(0, 160)}`).join('\n')}`);
  };
  try {
    const s = glc.services;
    const redirectUri = 'http://127.0.0.1:9/callback';
    const client = await s.clients.add({
      name: 'Service',
      organisation: 'Métropole',
      scope: 'openid profile email',
      redirectUris: [redirectUri],
    });
    const cc = await s.clients.add({
      name: 'Commune',
      grantTypes: ['client_credentials'],
      scope: 'deleted_accounts:read',
      redirectUris: [],
    });
    const account = { email: 'requetes@example.fr', password: 'girafe tram fourvière 1789 croissant' };
    await s.accountStore.create({ email: account.email, passwordHash: await hashPassword(account.password), emailVerifiedAt: new Date() });
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    const ccToken = () =>
      fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic(cc.clientId, cc.clientSecret!), ...form },
        body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
      }).then((r) => succeeded<{ access_token: string }>(r, 'access_token'));
    await ccToken();
    report('client-credentials token', (await counted(ccToken)).queries);

    const browser = new Browser(issuer);
    const authorize = (verifier: string) =>
      `${issuer}/auth?${new URLSearchParams({ client_id: client.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid profile email', state: randomUrlSafe(), nonce: randomUrlSafe(), code_challenge: codeChallenge(verifier), code_challenge_method: 'S256' })}`;
    await toCallback(browser, authorize(randomUrlSafe()), redirectUri, account); // login and consent, once
    const verifier = randomUrlSafe();
    const { value: callback, queries: authQueries } = await counted(() => toCallback(browser, authorize(verifier), redirectUri, account));
    report('authorize (session and consent exist)', authQueries);
    const { value: tokens, queries: tokenQueries } = await counted(() =>
      fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic(client.clientId, client.clientSecret!), ...form },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code')!,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }),
      }).then((r) => succeeded<{ access_token: string }>(r, 'access_token')),
    );
    report('token (authorization code)', tokenQueries);
    // A resident who already consented, in a fresh browser: login page, password, code.
    const { queries: loginQueries } = await counted(() =>
      toCallback(new Browser(issuer), authorize(randomUrlSafe()), redirectUri, account),
    );
    report('password login (consent exists) up to the code', loginQueries);
    const me = () =>
      fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } }).then((r) => succeeded(r, 'sub'));
    report('userinfo', (await counted(me)).queries);
    report('discovery', (await counted(() => fetch(`${issuer}/.well-known/openid-configuration`).then((r) => r.json()))).queries);
    report('JWKS', (await counted(() => fetch(`${issuer}/jwks`).then((r) => r.json()))).queries);
    return rows;
  } finally {
    await glc.stop();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchQueries());
  process.exit(0);
}

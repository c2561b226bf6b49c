// Benchmark of the provider's hot paths through real HTTP on loopback, against PostgreSQL
// (BENCH_DATABASE_URL or TEST_DATABASE_URL, default the local server). Bounded in count.
//   npm run bench            (all benchmarks)    npx tsx bench/oidc-flow.ts    (this one)
import * as oidc from 'openid-client';
import { startTestGlc, registerClient, authorizationRequest, followToCallback, callbackUrl } from '../test/support/glc.js';
import { Browser } from '../test/support/browser.js';
import { hashPassword } from '../src/accounts/passwords.js';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(label: string, total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<Record<string, number | string>> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await task(i);
      times.push(performance.now() - t0);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const row = { scenario: label, requests: total, concurrency, 'req/s': Math.round(total / elapsed), 'p50 ms': +percentile(times, 50).toFixed(1), 'p95 ms': +percentile(times, 95).toFixed(1), 'p99 ms': +percentile(times, 99).toFixed(1) };
  return row;
}

export async function benchOidcFlow(): Promise<Record<string, number | string>[]> {
  const glc = await startTestGlc();
  try {
    const client = await registerClient(glc, { scope: 'openid profile email' });
    const issuer = glc.config.issuer;
    const password = 'girafe tram fourvière 1789 croissant';
    const hash = await hashPassword(password);
    const residents = 40;
    for (let i = 0; i < residents; i++) {
      await glc.services.accountStore.create({ email: `bench${i}@example.fr`, passwordHash: hash, emailVerifiedAt: new Date() });
    }
    const rows: Record<string, number | string>[] = [];
    const rssBefore = process.memoryUsage().rss;

    rows.push(await measure('GET discovery', 3000, 20, async () => { await (await fetch(`${issuer}/.well-known/openid-configuration`)).arrayBuffer(); }));
    rows.push(await measure('GET /jwks', 3000, 20, async () => { await (await fetch(`${issuer}/jwks`)).arrayBuffer(); }));

    const accessTokens: string[] = [];
    rows.push(await measure('full login (argon2id) + consent + code + token', residents, 4, async (i) => {
      const pending = await authorizationRequest(client);
      const browser = new Browser(issuer);
      const login = await browser.follow(await browser.get(pending.url.href));
      let page = await browser.follow(await browser.submit(login, /\/login$/, { email: `bench${i}@example.fr`, password }), (u) => u.href.startsWith(client.redirectUri));
      if (!page.location?.startsWith(client.redirectUri)) page = await followToCallback(browser, await browser.submit(page, /\/consent$/), client.redirectUri);
      const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(page), { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce });
      accessTokens.push(tokens.access_token);
    }));
    rows.push(await measure('GET /me (userinfo)', 3000, 20, async (i) => {
      const res = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessTokens[i % accessTokens.length]}` } });
      if (res.status !== 200) throw new Error(`userinfo ${res.status}`);
      await res.arrayBuffer();
    }));
    const rssAfter = process.memoryUsage().rss;
    rows.push({ scenario: 'RSS of the process (GLC + load generator)', 'before MiB': Math.round(rssBefore / 2 ** 20), 'after MiB': Math.round(rssAfter / 2 ** 20) });
    return rows;
  } finally {
    await glc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchOidcFlow();
  console.table(rows);
}

// The load generator, always its own process (bench/http.ts starts one per measurement) so
// its CPU is never counted in the server's. One JSON scenario in argv[2], one JSON result on stdout.
//   kind "http": autocannon on one request (client credentials, userinfo, discovery, JWKS)
//   kind "flow": `loops` concurrent residents, each with its cookies, driving a whole flow
//   kind "argon2": argon2id verifications on every core (the password-login ceiling)
import os from 'node:os';
import argon2 from 'argon2';
import autocannon from 'autocannon';
import { Browser } from '../test/support/browser.js';
import { viaNodeHttp } from './node-http-send.js';
import { toCallback } from './flow-support.js';
import { codeChallenge, randomUrlSafe } from './pkce.js';
import type { CpuGroup } from './cpu.js';

export type Scenario =
  | {
      kind: 'http';
      url: string;
      method?: 'GET' | 'POST';
      headers?: Record<string, string>;
      body?: string;
      connections: number;
      seconds: number;
    }
  | {
      kind: 'flow';
      mode: 'code' | 'login';
      issuer: string;
      clientId: string;
      clientSecret: string;
      redirectUri: string;
      scope: string;
      loops: number;
      seconds: number;
      accounts: { email: string; password: string }[];
    }
  | { kind: 'argon2'; hash: string; password: string; seconds: number };

export interface LoadResult {
  perSecond: number;
  count: number;
  errors: number;
  p50: number;
  p99: number;
  /** This process's CPU seconds while measuring. */
  cpuSeconds?: number;
  /** Added by bench/http.ts: the machine's CPU milliseconds per operation, by group. */
  cpuMs?: Record<CpuGroup, number>;
}

/** Tells bench/http.ts the clock starts (it reads the machine's CPU then); returns this process's CPU so far. */
function startMeasuring(): NodeJS.CpuUsage {
  process.stdout.write('measuring\n');
  return process.cpuUsage();
}
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

async function http(s: Extract<Scenario, { kind: 'http' }>): Promise<LoadResult> {
  const cpu = startMeasuring();
  const r = await autocannon({
    url: s.url,
    method: s.method ?? 'GET',
    headers: s.headers,
    body: s.body,
    connections: s.connections,
    duration: s.seconds,
  });
  const ok = r.requests.total - r.non2xx - r.errors;
  return {
    perSecond: Math.round(ok / s.seconds),
    count: ok,
    errors: r.non2xx + r.errors,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuSeconds: cpuSince(cpu),
  };
}

async function flow(s: Extract<Scenario, { kind: 'flow' }>): Promise<LoadResult> {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`).toString('base64')}`;
  const authorizeUrl = (account: { email: string }, verifier: string) =>
    `${s.issuer}/auth?${new URLSearchParams({
      client_id: s.clientId,
      response_type: 'code',
      redirect_uri: s.redirectUri,
      scope: s.scope,
      state: randomUrlSafe(),
      nonce: randomUrlSafe(),
      code_challenge: codeChallenge(verifier),
      code_challenge_method: 'S256',
      login_hint: account.email,
    })}`;

  /** authorize (session and consent exist) → code → token → userinfo */
  async function codeFlow(browser: Browser, account: { email: string; password: string }): Promise<void> {
    const verifier = randomUrlSafe();
    const callback = await toCallback(browser, authorizeUrl(account, verifier), s.redirectUri, account);
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`no code: ${callback.search}`);
    const token = await viaNodeHttp(`${s.issuer}/token`, {
      method: 'POST',
      headers: new Headers({ authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: s.redirectUri, code_verifier: verifier }),
    });
    const tokens = JSON.parse(token.html) as { access_token?: string; id_token?: string };
    if (!tokens.access_token || !tokens.id_token) throw new Error(`token ${token.status}`);
    const me = await viaNodeHttp(`${s.issuer}/me`, { headers: new Headers({ authorization: `Bearer ${tokens.access_token}` }) });
    if (me.status !== 200) throw new Error(`userinfo ${me.status}`);
  }

  // Each loop is one resident: sign in once (and consent) before the clock starts.
  const loops = Array.from({ length: s.loops }, (_, i) => ({
    browser: new Browser(s.issuer, viaNodeHttp),
    account: s.accounts[i % s.accounts.length]!,
  }));
  for (const loop of loops) await codeFlow(loop.browser, loop.account);

  const cpu = startMeasuring();
  const times: number[] = [];
  let errors = 0;
  const deadline = performance.now() + s.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    loops.map(async (loop) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          if (s.mode === 'code') await codeFlow(loop.browser, loop.account);
          else {
            // A password login from a fresh browser: authorize → login page → password → code.
            const browser = new Browser(s.issuer, viaNodeHttp);
            await toCallback(browser, authorizeUrl(loop.account, randomUrlSafe()), s.redirectUri, loop.account);
          }
          times.push(performance.now() - t0);
        } catch (err) {
          if (++errors <= 3) process.stderr.write(`${(err as Error).message}\n`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    perSecond: Math.round((times.length / elapsed) * 10) / 10,
    count: times.length,
    errors,
    p50: Math.round(percentile(times, 50)),
    p99: Math.round(percentile(times, 99)),
    cpuSeconds: cpuSince(cpu),
  };
}

async function argon2Ceiling(s: Extract<Scenario, { kind: 'argon2' }>): Promise<LoadResult> {
  // argon2 runs on libuv's pool (UV_THREADPOOL_SIZE set by the caller to the core count).
  const parallel = os.availableParallelism() * 2;
  const cpu = startMeasuring();
  const times: number[] = [];
  const deadline = performance.now() + s.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        if (!(await argon2.verify(s.hash, s.password))) throw new Error('argon2 verify failed');
        times.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    perSecond: Math.round((times.length / elapsed) * 10) / 10,
    count: times.length,
    errors: 0,
    p50: Math.round(percentile(times, 50)),
    p99: Math.round(percentile(times, 99)),
    cpuSeconds: cpuSince(cpu),
  };
}

const scenario = JSON.parse(process.argv[2]!) as Scenario;
const result =
  scenario.kind === 'http' ? await http(scenario) : scenario.kind === 'flow' ? await flow(scenario) : await argon2Ceiling(scenario);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);

// GLC as in production against the library's ceiling, side by side in one run.
//   npm run bench -- http [--quick] [--label=name] [--seconds=N] [--rounds=N]
// GLC: compiled JavaScript (npm run build → dist/), a fresh PostgreSQL database
// (BENCH_DATABASE_URL or TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
// its own process (GLC_WORKERS processes when the cluster runs). Bare: bench/bare-provider.ts,
// node-oidc-provider 9 with its in-memory adapter and a trivial login. Load: bench/load.ts,
// a separate process per measurement. Targets alternate (GLC, bare, GLC, bare…); medians and
// the ratio GLC / bare are reported. Results: bench/results/<date>-<label>.json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/database.js';
import { freePort } from '../test/support/glc.js';
import { Browser } from '../test/support/browser.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createLogger } from '../src/log.js';
import { createServices } from '../src/services.js';
import { registerDomains } from '../src/domains.js';
import { hashPassword } from '../src/accounts/passwords.js';
import type { LoadResult, Scenario } from './load.js';
import { CPU_GROUPS, cpuPerOperation, cpuSeconds, processTree, type CpuGroup, type CpuReading } from './cpu.js';
import { codeChallenge, randomUrlSafe } from './pkce.js';
import { toCallback } from './flow-support.js';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const PASSWORD = 'girafe tram fourvière 1789 croissant';
export const SCOPE = 'openid profile email';

export interface HttpBenchOptions {
  quick: boolean;
  seconds: number;
  rounds: number;
  label: string;
  workers: number[];
  scenarios: string[] | undefined;
}

export function httpOptions(argv: string[]): HttpBenchOptions {
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const quick = argv.includes('--quick');
  return {
    quick,
    seconds: Number(arg('seconds') ?? (quick ? 3 : 8)),
    rounds: Number(arg('rounds') ?? 3),
    label: arg('label') ?? (quick ? 'quick' : 'run'),
    workers: (arg('workers') ?? '1').split(',').map(Number),
    scenarios: arg('scenarios')?.split(','),
  };
}

export interface Target {
  name: 'glc' | 'bare';
  issuer: string;
  clientId: string;
  clientSecret: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

function tsxNode(args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - started;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/**
 * The memory settings of the production image (the Dockerfile's `ENV NODE_OPTIONS=… …` line, every
 * NAME=value of it): GLC is measured as it runs.
 */
export function productionMemoryEnv(): Record<string, string> {
  const line = /^ENV (NODE_OPTIONS=.*)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  if (!line) throw new Error('Dockerfile: no ENV NODE_OPTIONS=… line');
  return Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
}

/** RSS of a process and its children (cluster workers), from /proc. */
export function treeRss(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return Math.round(kib / 1024);
}

export interface Seeded {
  databaseUrl: string;
  dataDir: string;
  secretsKey: string;
  clientId: string;
  clientSecret: string;
  ccClientId: string;
  ccClientSecret: string;
  accounts: { email: string; password: string }[];
  hash: string;
  drop(): Promise<void>;
}

export async function seedGlc(residents: number): Promise<Seeded> {
  const database = await createTestDatabase();
  const secretsKey = randomBytes(32).toString('hex');
  const config = loadConfig({ NODE_ENV: 'development', ...database.env, SECRETS_KEY: secretsKey, LOG_LEVEL: 'silent' });
  const db = await openDatabase(config);
  try {
    await migrateToLatest(db);
    const services = await createServices(config, db, createLogger('silent'));
    await registerDomains(services);
    const client = await services.clients.add({
      name: 'Service de bench',
      organisation: 'Métropole',
      scope: SCOPE,
      redirectUris: [REDIRECT_URI],
    });
    const cc = await services.clients.add({
      name: 'Commune de bench',
      grantTypes: ['client_credentials'],
      scope: 'deleted_accounts:read',
      redirectUris: [],
    });
    const hash = await hashPassword(PASSWORD);
    const accounts = [];
    for (let i = 0; i < residents; i++) {
      const email = `bench${i}@example.fr`;
      await services.accountStore.create({ email, passwordHash: hash, emailVerifiedAt: new Date() });
      accounts.push({ email, password: PASSWORD });
    }
    return {
      databaseUrl: database.env.DATABASE_URL!,
      dataDir: database.env.DATA_DIR,
      secretsKey,
      hash,
      clientId: client.clientId,
      clientSecret: client.clientSecret!,
      ccClientId: cc.clientId,
      ccClientSecret: cc.clientSecret!,
      accounts,
      drop: () => database.drop(),
    };
  } finally {
    await db.destroy();
  }
}

export async function startGlcProcess(
  seed: Seeded,
  workers: number,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  // Another checkout's build (bench/ab-env.ts, AB_B_ROOT): its `dist` must accept this database's
  // schema. `entry`: another build of this checkout (test/production-bundle.test.ts).
  at: { root?: string; entry?: string } = {},
): Promise<Target & { coldStartMs: number }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const glcRoot = at.root ?? root;
  // The production entry point (the Docker image's): the bundle, or, in a checkout built before
  // it existed, tsc's output.
  const bundled = path.join(glcRoot, 'dist/bundle/main.js');
  const main = at.entry ?? (existsSync(bundled) ? bundled : path.join(glcRoot, 'dist/src/main.js'));
  const child = spawn(process.execPath, [...nodeArgs, main], {
    cwd: glcRoot,
    // Logs at info level as in production, written to /dev/null (journald's cost is not GLC's).
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      PORT: String(port),
      ISSUER: issuer,
      DATABASE_URL: seed.databaseUrl,
      DATA_DIR: seed.dataDir,
      SECRETS_KEY: seed.secretsKey,
      LOG_LEVEL: 'info',
      GLC_WORKERS: String(workers),
      ...productionMemoryEnv(),
      ...extraEnv,
    },
  });
  // extraEnv may set another ISSUER (a load balancer's address): readiness is asked of the process itself.
  const coldStartMs = await waitReady(`http://127.0.0.1:${port}/readyz`, child);
  return {
    name: 'glc',
    issuer,
    clientId: seed.clientId,
    clientSecret: seed.clientSecret,
    process: child,
    stop: stopper(child),
    coldStartMs,
  };
}

/** The bare library, its residents' password the seed's (argon2id at GLC's parameters). */
export async function startBare(passwordHash: string): Promise<Target> {
  const port = await freePort();
  const clientId = 'bare-client';
  const clientSecret = randomUrlSafe();
  const child = tsxNode(['bench/bare-provider.ts'], {
    PORT: String(port),
    BARE_CLIENT_ID: clientId,
    BARE_CLIENT_SECRET: clientSecret,
    BARE_REDIRECT_URI: REDIRECT_URI,
    BARE_PASSWORD_HASH: passwordHash,
  });
  const issuer = `http://127.0.0.1:${port}`;
  await waitReady(`${issuer}/.well-known/openid-configuration`, child);
  return { name: 'bare', issuer, clientId, clientSecret, process: child, stop: stopper(child) };
}

/** Runs one load in its own process; `onMeasuring` is called when its clock starts (after any warm-up). */
export function runLoad(scenario: Scenario, env: Record<string, string> = {}, onMeasuring?: () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = tsxNode(['bench/load.ts', JSON.stringify(scenario)], env);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (onMeasuring && out.includes('measuring\n')) {
        onMeasuring();
        onMeasuring = undefined;
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
    });
  });
}

/**
 * A load, with the machine's CPU per operation over its measured part: the server's (`server`, a
 * process tree; none for the argon2 ceiling), PostgreSQL's, the load generator's (its own count,
 * as it has exited when the load ends) and the rest.
 */
export async function measuredLoad(server: number | undefined, scenario: Scenario, env: Record<string, string> = {}): Promise<LoadResult> {
  let before: CpuReading | undefined;
  const result = await runLoad(scenario, env, () => (before = cpuSeconds(server)));
  if (!before) return result;
  return { ...result, cpuMs: cpuPerOperation(before, cpuSeconds(server), result.count, { 'load generator': result.cpuSeconds ?? 0 }) };
}

/** Per group, the median over rounds of the CPU milliseconds per operation. */
export function medianCpu(runs: LoadResult[]): Record<CpuGroup, number> | undefined {
  if (!runs.every((r) => r.cpuMs)) return undefined;
  return Object.fromEntries(CPU_GROUPS.map((g) => [g, median(runs.map((r) => r.cpuMs![g]))])) as Record<CpuGroup, number>;
}

/** An authorization request of the bench's client with PKCE (S256) for `verifier`. */
export function authorizeUrl(t: Target, verifier: string, loginHint?: string): string {
  const params = new URLSearchParams({
    client_id: t.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state: randomUrlSafe(),
    nonce: randomUrlSafe(),
    code_challenge: codeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  if (loginHint) params.set('login_hint', loginHint);
  return `${t.issuer}/auth?${params}`;
}

export async function accessToken(t: Target, account: { email: string; password: string }): Promise<string> {
  const browser = new Browser(t.issuer);
  const verifier = randomUrlSafe();
  const callback = await toCallback(browser, authorizeUrl(t, verifier, account.email), REDIRECT_URI, account);
  const res = await fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${t.clientId}:${t.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One hot path of GLC under load, as the profile and A/B tools drive it (16 connections or residents). */
export async function glcScenario(which: string, glc: Target, seed: Seeded, seconds: number): Promise<Scenario> {
  if (which === 'cc')
    return {
      kind: 'http',
      url: `${glc.issuer}/token`,
      method: 'POST',
      connections: 16,
      seconds,
      headers: {
        authorization: `Basic ${Buffer.from(`${seed.ccClientId}:${seed.ccClientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
    };
  if (which === 'userinfo')
    return {
      kind: 'http',
      url: `${glc.issuer}/me`,
      connections: 16,
      seconds,
      headers: { authorization: `Bearer ${await accessToken(glc, seed.accounts[0]!)}` },
    };
  if (which !== 'code' && which !== 'login') throw new Error(`unknown scenario ${which}: cc, userinfo, code or login`);
  return {
    kind: 'flow',
    mode: which,
    issuer: glc.issuer,
    clientId: seed.clientId,
    clientSecret: seed.clientSecret,
    redirectUri: REDIRECT_URI,
    scope: SCOPE,
    loops: 16,
    seconds,
    accounts: seed.accounts,
  };
}

export interface ScenarioResult {
  /** Peak RSS of the GLC process tree during this scenario's rounds. */
  glcRssPeakMiB?: number;
  scenario: string;
  unit: string;
  workers?: number;
  glc: LoadResult[];
  bare: LoadResult[];
  glcMedian: number;
  bareMedian: number;
  ratio: number;
  pairedRatio: number;
  /** Milliseconds of the machine's CPU per operation, by group (medians over rounds). */
  glcCpuMs?: Record<CpuGroup, number>;
  bareCpuMs?: Record<CpuGroup, number>;
}

/** Median of the ratios of the runs made side by side (round i of A against round i of B): on a shared machine, steadier than the ratio of medians. */
export function pairedRatio(a: LoadResult[], b: LoadResult[]): number {
  return Math.round(median(a.map((r, i) => r.perSecond / Math.max(b[i]!.perSecond, 1e-9))) * 100) / 100;
}

export async function benchHttp(options: HttpBenchOptions): Promise<Record<string, number | string>[]> {
  const cores = os.availableParallelism();
  if (!process.env.BENCH_SKIP_BUILD) {
    // tsc's output and the bundle the bench starts (scripts/bundle.ts).
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const residents = 16;
  const seed = await seedGlc(residents);
  const bare = await startBare(seed.hash);
  const results: ScenarioResult[] = [];
  const memory: Record<string, number> = {};
  const startups: number[] = [];
  try {
    for (const workers of options.workers) {
      const glc = await startGlcProcess(seed, workers);
      startups.push(Math.round(glc.coldStartMs));
      const rssIdle = treeRss(glc.process.pid!);
      let rssPeak = rssIdle;
      let scenarioPeak = rssIdle; // the same, reset at each scenario
      const sampler = setInterval(() => {
        const rss = treeRss(glc.process.pid!);
        rssPeak = Math.max(rssPeak, rss);
        scenarioPeak = Math.max(scenarioPeak, rss);
      }, 250);
      try {
        const seconds = options.seconds;
        const basic = (t: Target, id = t.clientId, secret = t.clientSecret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
        const ccFor = (t: Target): Scenario => ({
          kind: 'http',
          url: `${t.issuer}/token`,
          method: 'POST',
          connections: 16,
          seconds,
          headers: {
            authorization: t.name === 'glc' ? basic(t, seed.ccClientId, seed.ccClientSecret) : basic(t),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
        });
        const flowFor = (t: Target, mode: 'code' | 'login'): Scenario => ({
          kind: 'flow',
          mode,
          issuer: t.issuer,
          clientId: t.clientId,
          clientSecret: t.clientSecret,
          redirectUri: REDIRECT_URI,
          scope: SCOPE,
          loops: 16,
          seconds,
          accounts: seed.accounts,
        });
        const scenarios: {
          key: string;
          name: string;
          unit: string;
          make: (t: Target) => Promise<Scenario>;
          /** Against the argon2 ceiling, not against the bare library. */
          onlyGlc?: boolean;
          /** The bare library measured in GLC's place (its own login against the argon2 ceiling). */
          measuresBare?: boolean;
          allWorkerCounts?: boolean;
        }[] = [
          { key: 'cc', name: 'client-credentials token', unit: 'tokens/s', make: async (t) => ccFor(t), allWorkerCounts: true },
          {
            key: 'code',
            name: 'code flow (session and consent exist)',
            unit: 'flows/s',
            make: async (t) => flowFor(t, 'code'),
            allWorkerCounts: true,
          },
          {
            key: 'userinfo',
            name: 'userinfo',
            unit: 'req/s',
            allWorkerCounts: true,
            make: async (t) => ({
              kind: 'http',
              url: `${t.issuer}/me`,
              connections: 16,
              seconds,
              headers: { authorization: `Bearer ${await accessToken(t, seed.accounts[0]!)}` },
            }),
          },
          {
            key: 'discovery',
            name: 'discovery',
            unit: 'req/s',
            make: async (t) => ({ kind: 'http', url: `${t.issuer}/.well-known/openid-configuration`, connections: 16, seconds }),
          },
          {
            key: 'jwks',
            name: 'JWKS',
            unit: 'req/s',
            make: async (t) => ({ kind: 'http', url: `${t.issuer}/jwks`, connections: 16, seconds }),
          },
          {
            key: 'login',
            name: 'password login (argon2id) vs argon2 alone on all cores',
            unit: 'logins/s',
            onlyGlc: true,
            make: async (t) => flowFor(t, 'login'),
          },
          {
            // What any server built on the library can reach here: its login is a bare form and
            // the same argon2id verification, nothing else (no CSRF, throttling, audit, session
            // in PostgreSQL). The GLC column of this row is the bare library.
            key: 'login',
            name: 'password login of the bare library (argon2id) vs argon2 alone on all cores',
            unit: 'logins/s',
            onlyGlc: true,
            measuresBare: true,
            make: async (t) => flowFor(t, 'login'),
          },
        ];
        for (const s of scenarios) {
          if (workers !== options.workers[0] && !s.allWorkerCounts) continue;
          if (options.scenarios && !options.scenarios.includes(s.key)) continue;
          const glcRuns: LoadResult[] = [];
          const bareRuns: LoadResult[] = [];
          scenarioPeak = treeRss(glc.process.pid!);
          // One short unrecorded load on each side first: the first round otherwise carries the
          // compilation of the code it runs (more of it for GLC), which moved ratios by 10–20 %.
          const warmUp = (scenario: Scenario): Scenario => ({ ...scenario, seconds: Math.min(2, seconds) });
          const measured = s.measuresBare ? bare : glc;
          await runLoad(warmUp(await s.make(measured)));
          if (!s.onlyGlc) await runLoad(warmUp(await s.make(bare)));
          for (let round = 0; round < options.rounds; round++) {
            glcRuns.push(await measuredLoad(measured.process.pid!, await s.make(measured)));
            if (s.onlyGlc)
              bareRuns.push(
                await measuredLoad(
                  undefined,
                  { kind: 'argon2', hash: seed.hash, password: PASSWORD, seconds },
                  { UV_THREADPOOL_SIZE: String(cores) },
                ),
              );
            else bareRuns.push(await measuredLoad(bare.process.pid!, await s.make(bare)));
          }
          const glcMedian = median(glcRuns.map((r) => r.perSecond));
          const bareMedian = median(bareRuns.map((r) => r.perSecond));
          const r: ScenarioResult = {
            scenario: s.name,
            unit: s.unit,
            workers,
            glc: glcRuns,
            bare: bareRuns,
            glcMedian,
            bareMedian,
            ratio: Math.round((glcMedian / bareMedian) * 100) / 100,
            pairedRatio: pairedRatio(glcRuns, bareRuns),
            glcRssPeakMiB: s.measuresBare ? undefined : scenarioPeak,
            glcCpuMs: medianCpu(glcRuns),
            bareCpuMs: medianCpu(bareRuns),
          };
          results.push(r);
          process.stderr.write(
            `  ${s.name} [${workers} process(es)]: ${s.measuresBare ? 'bare library' : 'GLC'} ${glcMedian} / ${s.onlyGlc ? 'argon2 alone' : 'bare'} ${bareMedian} ${s.unit} = ${r.ratio}, paired ${r.pairedRatio} (errors ${glcRuns.reduce((n, x) => n + x.errors, 0)} and ${bareRuns.reduce((n, x) => n + x.errors, 0)}${s.measuresBare ? '' : `; GLC RSS peak ${scenarioPeak} MiB`})\n`,
          );
          const cpuLine = (cpu: Record<CpuGroup, number> | undefined) =>
            cpu ? CPU_GROUPS.map((g) => `${g} ${cpu[g]}`).join(', ') : 'not measured';
          process.stderr.write(`    CPU ms per operation — GLC: ${cpuLine(r.glcCpuMs)}; bare: ${cpuLine(r.bareCpuMs)}\n`);
        }
      } finally {
        clearInterval(sampler);
        memory[`rss idle MiB (${workers} process(es))`] = rssIdle;
        memory[`rss peak under load MiB (${workers} process(es))`] = rssPeak;
        await glc.stop();
      }
    }
    // What counting costs: the same GLC with and without per-request metrics, alternating.
    if (!options.scenarios || options.scenarios.includes('metrics')) {
      const on = await startGlcProcess(seed, 1);
      const off = await startGlcProcess(seed, 1, { METRICS: 'off' });
      try {
        const cc = (t: Target): Scenario => ({
          kind: 'http',
          url: `${t.issuer}/token`,
          method: 'POST',
          connections: 16,
          seconds: options.seconds,
          headers: {
            authorization: `Basic ${Buffer.from(`${seed.ccClientId}:${seed.ccClientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
        });
        const withRuns: LoadResult[] = [];
        const withoutRuns: LoadResult[] = [];
        for (let round = 0; round < options.rounds; round++) {
          withRuns.push(await runLoad(cc(on)));
          withoutRuns.push(await runLoad(cc(off)));
        }
        const a = median(withRuns.map((r) => r.perSecond));
        const b = median(withoutRuns.map((r) => r.perSecond));
        results.push({
          scenario: 'client-credentials, GLC with metrics (vs GLC with METRICS=off in the bare column)',
          unit: 'tokens/s',
          workers: 1,
          glc: withRuns,
          bare: withoutRuns,
          glcMedian: a,
          bareMedian: b,
          ratio: Math.round((a / b) * 100) / 100,
          pairedRatio: pairedRatio(withRuns, withoutRuns),
        });
        process.stderr.write(`  metrics cost: with ${a} / without ${b} tokens/s = ${(a / b).toFixed(2)}\n`);
      } finally {
        await on.stop();
        await off.stop();
      }
    }
  } finally {
    await bare.stop();
    await seed.drop();
  }

  const date = new Date().toISOString();
  const report = {
    date,
    label: options.label,
    commit,
    machine: { cores, cpu: os.cpus()[0]?.model, node: process.version },
    options,
    results,
    memory,
    coldStartMs: startups,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, 'bench/results', `${date.slice(0, 16).replace(/:/g, '')}-${options.label}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`  → ${path.relative(root, file)}\n`);
  process.stdout.write(`\n${markdownTable(report)}\n`);
  return [
    ...results.map((r) => ({
      scenario: r.scenario,
      processes: r.workers ?? 1,
      unit: r.unit,
      GLC: r.glcMedian,
      bare: r.bareMedian,
      'GLC/bare': r.ratio,
      paired: r.pairedRatio,
    })),
    ...Object.entries(memory).map(([k, v]) => ({ scenario: k, GLC: v })),
    { scenario: 'cold start to ready ms', GLC: startups.join(', ') },
  ];
}

export function markdownTable(report: { results: ScenarioResult[]; memory: Record<string, number>; coldStartMs: number[] }): string {
  const lines = [
    '| scenario | GLC processes | bare library (or ceiling), median | GLC, median | GLC / bare (medians) | GLC / bare (paired rounds) |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of report.results)
    lines.push(
      `| ${r.scenario} (${r.unit}) | ${r.workers ?? 1} | ${r.bareMedian} | ${r.glcMedian} | ${r.ratio.toFixed(2)} | ${r.pairedRatio.toFixed(2)} |`,
    );
  for (const [k, v] of Object.entries(report.memory)) lines.push(`| ${k} | | | ${v} | | |`);
  lines.push(`| cold start to ready (ms) | | | ${report.coldStartMs.join(', ')} | | |`);
  // Where the machine's CPU goes per operation: on cores shared with PostgreSQL and the load
  // generator, what the server spends is only part of the ratio.
  lines.push(
    '',
    'CPU of the machine per operation, in milliseconds (medians over rounds; "server" is GLC or the bare library):',
    '',
    `| scenario | GLC processes | side | ${CPU_GROUPS.join(' | ')} | machine, in all |`,
    `|---|---|---|${CPU_GROUPS.map(() => '---|').join('')}---|`,
  );
  const row = (r: ScenarioResult, side: string, cpu: Record<CpuGroup, number> | undefined) => {
    if (!cpu) return;
    const total = CPU_GROUPS.reduce((n, g) => n + cpu[g], 0);
    lines.push(
      `| ${r.scenario} | ${r.workers ?? 1} | ${side} | ${CPU_GROUPS.map((g) => cpu[g].toFixed(2)).join(' | ')} | ${total.toFixed(2)} |`,
    );
  };
  for (const r of report.results) {
    row(r, 'GLC', r.glcCpuMs);
    row(r, 'bare (or ceiling)', r.bareCpuMs);
  }
  return lines.join('\n');
}

// GLC instances behind HAProxy on one PostgreSQL: throughput through the load balancer with one
// instance, then two (one process each), alternating rounds.
//   npm run bench -- scale [--quick] [--seconds=N] [--rounds=N]
// HAProxy (Debian package) is started by the bench with a generated configuration on loopback.
// Both instances share the database, SECRETS_KEY and ISSUER (the load balancer's address).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/glc.js';
import { httpOptions, pairedRatio, runLoad, seedGlc, startGlcProcess, REDIRECT_URI, SCOPE, type Target } from './http.js';
import type { LoadResult, Scenario } from './load.js';

function haproxyConfig(port: number, backends: number[]): string {
  return [
    'global',
    '  maxconn 4096',
    '  nbthread 1',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option http-keep-alive',
    'frontend glc',
    `  bind 127.0.0.1:${port}`,
    '  default_backend glc',
    'backend glc',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    ...backends.map((p, i) => `  server glc${i + 1} 127.0.0.1:${p} check inter 2s`),
    '',
  ].join('\n');
}

async function startHaproxy(dir: string, port: number, backends: number[]): Promise<ChildProcess> {
  const file = path.join(dir, `haproxy-${backends.length}.cfg`);
  writeFileSync(file, haproxyConfig(port, backends));
  const child = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('haproxy did not start');
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function benchScale(argv: string[]): Promise<Record<string, number | string>[]> {
  const options = httpOptions(argv);
  if (spawnSync('haproxy', ['-v']).status !== 0) throw new Error('haproxy is not installed (apt-get install haproxy)');
  if (!process.env.BENCH_SKIP_BUILD && spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }).status !== 0)
    throw new Error('build failed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'glc-haproxy-'));
  const lbPort = await freePort();
  const issuer = `http://127.0.0.1:${lbPort}`;
  const seed = await seedGlc(16);
  const instances = [await startGlcProcess(seed, 1, { ISSUER: issuer }), await startGlcProcess(seed, 1, { ISSUER: issuer })];
  const ports = instances.map((i) => Number(new URL(i.issuer).port));
  const lb: Target = { ...instances[0]!, issuer };
  const basic = `Basic ${Buffer.from(`${seed.ccClientId}:${seed.ccClientSecret}`).toString('base64')}`;
  const scenarios: { name: string; unit: string; make: () => Scenario }[] = [
    {
      name: 'client-credentials token',
      unit: 'tokens/s',
      make: () => ({
        kind: 'http',
        url: `${issuer}/token`,
        method: 'POST',
        connections: 16,
        seconds: options.seconds,
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=deleted_accounts%3Aread',
      }),
    },
    {
      name: 'code flow (session and consent exist)',
      unit: 'flows/s',
      make: () => ({
        kind: 'flow',
        mode: 'code',
        issuer,
        clientId: lb.clientId,
        clientSecret: lb.clientSecret,
        redirectUri: REDIRECT_URI,
        scope: SCOPE,
        loops: 16,
        seconds: options.seconds,
        accounts: seed.accounts,
      }),
    },
  ];
  const rows: Record<string, number | string>[] = [];
  try {
    for (const s of scenarios) {
      const runs: Record<1 | 2, LoadResult[]> = { 1: [], 2: [] };
      for (let round = 0; round < options.rounds; round++) {
        for (const n of [1, 2] as const) {
          const haproxy = await startHaproxy(dir, lbPort, ports.slice(0, n));
          try {
            runs[n].push(await runLoad(s.make()));
          } finally {
            await stop(haproxy);
          }
        }
      }
      const one = median(runs[1].map((r) => r.perSecond));
      const two = median(runs[2].map((r) => r.perSecond));
      process.stderr.write(
        `  ${s.name} through HAProxy: 1 instance ${one}, 2 instances ${two} ${s.unit} (errors ${[...runs[1], ...runs[2]].reduce((n, r) => n + r.errors, 0)})\n`,
      );
      rows.push({
        scenario: `${s.name} (${s.unit}) through HAProxy`,
        '1 instance': one,
        '2 instances': two,
        '2 / 1': Math.round((two / one) * 100) / 100,
        '2 / 1 paired': pairedRatio(runs[2], runs[1]),
      });
    }
  } finally {
    for (const i of instances) await i.stop();
    await seed.drop();
  }
  const date = new Date().toISOString();
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync('bench/results', { recursive: true });
  const file = path.join('bench/results', `${date.slice(0, 16).replace(/:/g, '')}-${options.label}-scale.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date, label: options.label, commit, machine: { cores: os.availableParallelism(), node: process.version }, options, rows }, null, 2)}\n`,
  );
  process.stderr.write(`  → ${file}\n`);
  return rows;
}

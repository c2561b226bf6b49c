// GLC_WORKERS=2: the real `npm start` process forks two workers sharing the port; a metrics
// scrape answered by either worker counts the requests of both; SIGTERM stops everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort } from './support/glc.js';

const TOKEN = 'cluster-metrics-token-0123456789abcdefgh';

/** Child node processes (tsx's esbuild helper is a child too, but not a worker). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && stat.includes('(node)');
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('cluster mode', () => {
  let database: TestDatabase;
  let child: ChildProcess;
  let url: string;
  const scrape = () => fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const poolSum = () =>
    scrape().then(
      async (r) => (r.status === 200 ? Number(/^glc_db_pool_max_connections (\d+)/m.exec(await r.text())?.[1]) : 0),
      () => 0,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        PORT: String(port),
        ISSUER: url,
        LOG_LEVEL: 'silent',
        GLC_WORKERS: '2',
        METRICS_TOKEN: TOKEN,
        SECRETS_KEY: randomBytes(32).toString('hex'),
        ...database.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // Bounded wait until both workers serve: each has a pool of 10, the scrape sums them.
    for (let i = 0; i < 600 && (await poolSum()) !== 20; i++) await new Promise((r) => setTimeout(r, 100));
  }, 90_000);
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await database?.drop();
  });

  it('serves with two workers and counts the requests of both in one scrape', async () => {
    expect(childrenOf(child.pid!)).toHaveLength(2);
    // Each worker's pools summed (10 for Kysely, 4 for the hot statements, 4 for fast commits).
    expect(await poolSum()).toBe(36);
    const requests = 40;
    await Promise.all(Array.from({ length: requests }, () => fetch(`${url}/healthz`).then((r) => r.arrayBuffer())));
    const count = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('glc_http_request_duration_seconds_count{') && l.includes('route="/healthz"'))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    // Whichever worker answers the scrape, the sum is the same: every request of both workers.
    for (let i = 0; i < 4; i++) {
      const res = await scrape();
      expect(res.status).toBe(200);
      expect(count(await res.text())).toBe(requests);
    }
  });

  it('stops the workers and the primary on SIGTERM', async () => {
    const workers = childrenOf(child.pid!);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('stops cleanly when SIGTERM comes while the second worker is still starting', async () => {
    // An orchestrator may stop a container right after it answered its first readiness probe.
    // The primary used to set its signal handlers only once every worker listened: it died at
    // once, the first worker was cut off mid-request and the second crashed writing to a closed
    // channel (EPIPE, with its stack on stderr).
    const db = await createTestDatabase();
    try {
      const port = await freePort();
      const early = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'test',
          PORT: String(port),
          ISSUER: `http://127.0.0.1:${port}`,
          LOG_LEVEL: 'silent',
          GLC_WORKERS: '2',
          SECRETS_KEY: randomBytes(32).toString('hex'),
          ...db.env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      early.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => early.once('exit', (code) => resolve(code)));
      const seen = new Set<number>();
      for (let i = 0; i < 600; i++) {
        for (const pid of childrenOf(early.pid!)) seen.add(pid);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ready) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const pid of childrenOf(early.pid!)) seen.add(pid);
      expect(seen.size).toBe(2); // the first worker serves, the second is being started
      early.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
      for (const pid of seen) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await db.drop();
    }
  }, 90_000);
});

// The embedded default (no DATABASE_URL): GLC starts a real PostgreSQL server in
// DATA_DIR/postgres; `glc` works beside a running GLC; racing first starts and crashed runs
// neither corrupt nor block anything; the server stops after the last user's pool has closed.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { startGlc } from '../src/server.js';
import { openDatabase } from '../src/db/database.js';
import { freePort } from './support/glc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const folders: string[] = [];
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

function dataDir(): string {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'glc-embedded-'));
  chmodSync(parent, 0o711); // the server runs as the postgres user when the tests run as root
  folders.push(parent);
  return path.join(parent, 'data');
}

function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, path.join(root, script), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH!, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    // oidc-provider warns on stderr under Node 20 (it wants 22): not an error of ours.
    child.once('exit', (code) => resolve({ code, out, err: err.replace(/^oidc-provider WARNING.*\n/m, '') }));
  });
}
const cli = (dir: string, ...args: string[]) => run('src/cli/main.ts', args, { DATA_DIR: dir });

const pidFile = (dir: string) => path.join(dir, 'postgres', 'data', 'postmaster.pid');
const postmasterPid = (dir: string) => Number(readFileSync(pidFile(dir), 'utf8').split('\n')[0]);
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL', () => {
  it('glc adds a service beside a running GLC, which uses it at once; GLC stops the server after its pool', async () => {
    const dir = dataDir();
    const port = await freePort();
    const glc = await startGlc({
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: `http://localhost:${port}`,
      LOG_LEVEL: 'silent',
      DATA_DIR: dir,
    });
    try {
      const added = await cli(dir, 'client', 'add', '--name', 'Mairie de Givors', '--redirect-uri', 'https://www.givors.fr/cb', '--json');
      expect(added.err).toBe('');
      expect(added.code).toBe(0);
      const { client_id } = JSON.parse(added.out) as { client_id: string };

      const listed = await cli(dir, 'client', 'list', '--json');
      expect((JSON.parse(listed.out) as { client_id: string }[]).map((c) => c.client_id)).toContain(client_id);
      // The running GLC knows the new service: its authorization request reaches the login page.
      const auth = await fetch(
        `${glc.url}/auth?${new URLSearchParams({ client_id, redirect_uri: 'https://www.givors.fr/cb', response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
        { redirect: 'manual' },
      );
      expect(auth.status).toBe(303);
      expect(auth.headers.get('location')).toMatch(/\/interaction\//);
      // The commands left the server running for GLC.
      expect(alive(postmasterPid(dir))).toBe(true);
    } finally {
      await glc.stop();
    }
    expect(existsSync(pidFile(dir))).toBe(false);
    // Stopped after the pool had closed: no connection was cut by the shutdown.
    expect(readFileSync(path.join(dir, 'postgres', 'server.log'), 'utf8')).not.toMatch(
      /terminating connection due to administrator command/,
    );
  });

  it('two commands racing the first start on an empty DATA_DIR both succeed, on one cluster, stopped after them', async () => {
    const dir = dataDir();
    const [a, b] = await Promise.all([
      cli(dir, 'client', 'add', '--name', 'Service A', '--redirect-uri', 'https://a.example.fr/cb', '--json'),
      cli(dir, 'client', 'add', '--name', 'Service B', '--redirect-uri', 'https://b.example.fr/cb', '--json'),
    ]);
    expect([a.code, a.err, b.code, b.err]).toEqual([0, '', 0, '']);
    const listed = await cli(dir, 'client', 'list', '--json');
    expect((JSON.parse(listed.out) as { name: string }[]).map((c) => c.name).sort()).toEqual(['Service A', 'Service B']);
    expect(readdirSync(path.join(dir, 'postgres')).filter((f) => f.startsWith('data'))).toEqual(['data']);
    expect(existsSync(pidFile(dir))).toBe(false);
    expect(readdirSync(path.join(dir, 'postgres', 'users'))).toEqual([]);
  });

  it('a crashed run blocks nothing: an orphaned server is reused then stopped, a stale postmaster.pid is ignored', async () => {
    const dir = dataDir();
    const holder = () =>
      new Promise<{ kill(): void; pid: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'test/support/embedded-holder.ts')], {
          cwd: root,
          env: { PATH: process.env.PATH!, DATA_DIR: dir },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.once('data', () => resolve({ pid: child.pid!, kill: () => child.kill('SIGKILL') }));
        child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
    const openAndClose = async () => {
      const db = await openDatabase({ dataDir: dir });
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
      await db.destroy();
      return rows[0]!.one;
    };

    // GLC killed: its server keeps running, orphaned, with the dead process still registered.
    let h = await holder();
    const orphan = postmasterPid(dir);
    h.kill();
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(orphan)).toBe(true);
    expect(await openAndClose()).toBe(1);
    expect(alive(orphan)).toBe(false); // the dead user no longer counts: the last one out stopped it

    // GLC and its server killed: postmaster.pid stays, naming a pid now used by another process.
    h = await holder();
    const killed = postmasterPid(dir);
    h.kill();
    process.kill(killed, 'SIGKILL');
    while (alive(killed)) await new Promise((r) => setTimeout(r, 50));
    const lines = readFileSync(pidFile(dir), 'utf8').split('\n');
    writeFileSync(pidFile(dir), [String(process.pid), ...lines.slice(1)].join('\n'));
    expect(await openAndClose()).toBe(1);
    expect(existsSync(pidFile(dir))).toBe(false);
  });
});

// SIGTERM under `npm start` (tsx runs GLC in a child process and relays signals): a request in
// flight is answered before the process exits, even when the signal arrives twice (a
// process-group kill reaches tsx and GLC, and tsx may relay it once more).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort } from './support/glc.js';
import { projectPath } from '../src/paths.js';

let database: TestDatabase;
let child: ChildProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  if (child?.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  await database?.drop();
});

/** GLC in its own process group (like a container's init would see it), its output piped. */
function startGlcProcess(command: string, args: string[], port: number, logLevel: string): ChildProcess {
  return spawn(command, args, {
    cwd: projectPath(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: `http://localhost:${port}`,
      LOG_LEVEL: logLevel,
      ...database.env,
    },
  });
}

describe('SIGTERM under npm start (tsx)', () => {
  it('drains a request in flight, twice signalled, then exits 0', async () => {
    const port = await freePort();
    // What `npm start` runs.
    child = startGlcProcess(projectPath('node_modules', '.bin', 'tsx'), ['src/main.ts'], port, 'silent');
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('tourne sur')) resolve();
      });
      child!.on('exit', (code) => reject(new Error(`GLC exited (${code}) before listening`)));
      setTimeout(() => reject(new Error('GLC did not start')), 60_000).unref();
    });

    // A form post whose body is still arriving: the request is in flight.
    const body = 'email=lent%40example.fr&_csrf=x';
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/mot-de-passe-oublie',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, connection: 'close' },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        process.kill(-child!.pid!, 'SIGTERM');
        setTimeout(() => process.kill(-child!.pid!, 'SIGTERM'), 200);
        setTimeout(() => req.end(body.slice(10)), 1_000);
      }, 300);
    });

    const response = await answer;
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(500); // answered (403: no valid CSRF token), not cut off
    expect(response.text).toContain('lang="fr"');
    expect(await exited).toBe(0);
  }, 90_000);

  it('stops cleanly on a SIGTERM sent as soon as the first readiness probe passes', async () => {
    // The server answers before the rest of the start (job queue, demo service) is done: an
    // orchestrator stopping the container right then used to kill the process outright.
    const port = await freePort();
    child = startGlcProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], port, 'info');
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 3000; i++) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"msg":"shutting down"');
  }, 90_000);
});

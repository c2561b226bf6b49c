// The kit's Python snippet (Authlib + Flask, Debian packages, run with /usr/bin/python3) as
// written, driven in Chromium against a real GLC: login, userinfo claims, refresh with rotation,
// logout back to the service.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, it } from 'vitest';
import { glcWithChromium } from './support/browser-suite.js';
import { freePort, registerClient } from './support/glc.js';
import { createResident, serverSideJourney, writeSnippet } from './support/kit.js';

const PYTHON = '/usr/bin/python3';
const suite = glcWithChromium();
let python: ChildProcess | undefined;

afterAll(async () => {
  if (python && python.exitCode === null) {
    python.kill('SIGTERM');
    await new Promise((resolve) => python!.once('exit', resolve));
  }
});

async function startPython(env: Record<string, string>, port: number): Promise<void> {
  if (!existsSync(PYTHON)) throw new Error('/usr/bin/python3 with python3-authlib and python3-flask is needed');
  const app = writeSnippet('authlib', 'authlib_app.py');
  python = spawn(PYTHON, [app], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  python.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  python.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  for (let i = 0; i < 100; i++) {
    if (python.exitCode !== null) throw new Error(`python exited: ${output}`);
    if (
      await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Python service did not answer: ${output}`);
}

describe('Python Authlib with Flask (kit snippet)', () => {
  it('logs in, reads userinfo, refreshes with rotation, logs out back to the service', async () => {
    const { glc, chromium } = suite;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const client = await registerClient(glc, {
      name: 'Commune (Authlib)',
      redirectUris: [`${base}/callback`],
      postLogoutRedirectUris: [`${base}/`],
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    await startPython(
      {
        GLC_ISSUER: glc.config.issuer,
        GLC_CLIENT_ID: client.clientId,
        GLC_CLIENT_SECRET: client.clientSecret!,
        BASE_URL: base,
        SESSION_SECRET: 'p'.repeat(40),
      },
      port,
    );
    await createResident(glc, 'authlib@example.fr');

    const page = await (await chromium.newContext()).newPage();
    await serverSideJourney(page, glc, base, 'authlib@example.fr', { connecte: false, nom: null, email: null });
  });
});

// The newcomer's path: `npm start` with no configuration runs on the embedded PostgreSQL server
// in ./data/postgres, answers discovery, lets `glc` register a service beside it, stops cleanly
// (server included) on SIGTERM, and starts again with the same keys, accounts and services.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/glc.js';
import { Browser, decode } from '../support/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cwd = mkdtempSync(path.join(os.tmpdir(), 'glc-smoke-'));
chmodSync(cwd, 0o711); // run as root, the PostgreSQL server (user postgres) must reach ./data
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function start(port: number): Promise<ChildProcess> {
  // An empty environment but PATH (to find node) and the port (3000 may be taken on this machine).
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href, path.join(root, 'src/main.ts')],
    { cwd, env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`GLC exited early: ${output}`);
    try {
      const res = await fetch(`http://localhost:${port}/.well-known/openid-configuration`);
      if (res.ok) return child;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`GLC did not start: ${output}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('embedded default', () => {
  it('starts with an empty environment, keeps keys and accounts across restarts, exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const issuer = `http://localhost:${port}`;
    let child = await start(port);
    const jwks1 = await (await fetch(`${issuer}/jwks`)).json();
    expect((await fetch(`${issuer}/readyz`)).status).toBe(200);
    expect((await fetch(`${issuer}/demo`)).status).toBe(200);

    // A resident signs up through the demo service and confirms the email from the dev mailbox.
    const browser = new Browser(issuer);
    const login = await browser.follow(await browser.get(`${issuer}/demo/login`));
    const signup = await browser.get(new URL(/href="([^"]*\/inscription)"/.exec(login.html)![1]!, login.url).href);
    await browser.submit(signup, /inscription$/, {
      email: 'smoke@example.fr',
      password: 'girafe tram fourvière 1789',
      passwordConfirmation: 'girafe tram fourvière 1789',
    });
    // The account and its mail are made just after the answer (equal answer times): wait for it.
    let mailbox: { text: string }[] = [];
    for (let i = 0; i < 100 && !mailbox.length; i++) {
      mailbox = (await (await fetch(`${issuer}/dev/mailbox`, { headers: { accept: 'application/json' } })).json()) as { text: string }[];
      if (!mailbox.length) await new Promise((r) => setTimeout(r, 100));
    }
    const link = /http\S+\/inscription\/confirmer\S+/.exec(mailbox[0]!.text)![0];
    expect((await browser.get(decode(link))).status).toBe(200);

    // The operator's command, as a real process, beside the running server.
    const glcCommand = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(root, 'bin/glc.js'), ...args], {
        cwd,
        env: { PATH: process.env.PATH },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const added = glcCommand('client', 'add', '--name', 'Mairie de Bron', '--redirect-uri', 'https://www.bron.fr/cb', '--json');
    expect(added.status).toBe(0);
    const { client_id } = JSON.parse(added.stdout) as { client_id: string };

    expect(await stop(child)).toBe(0);
    const pidFile = path.join(cwd, 'data/postgres/data/postmaster.pid');
    expect(existsSync(pidFile)).toBe(false); // the database server stopped with GLC

    // With GLC stopped, the command starts the server itself and stops it when done.
    const cli = glcCommand('client', 'list', '--json');
    expect(cli.status).toBe(0);
    expect((JSON.parse(cli.stdout) as { name: string }[]).map((c) => c.name)).toEqual(
      expect.arrayContaining(['Service de démonstration', 'Mairie de Bron']),
    );
    expect(existsSync(pidFile)).toBe(false);

    child = await start(port);
    try {
      expect(await (await fetch(`${issuer}/jwks`)).json()).toEqual(jwks1);
      // Same account: the password login through the demo service reaches the consent page.
      const b2 = new Browser(issuer);
      const page = await b2.follow(await b2.get(`${issuer}/demo/login`));
      const after = await b2.follow(
        await b2.submit(page, /\/login$/, { email: 'smoke@example.fr', password: 'girafe tram fourvière 1789' }),
      );
      expect(after.html).toMatch(/demande l’accès|Autoriser/);
      expect(
        (
          await fetch(
            `${issuer}/auth?client_id=${client_id}&redirect_uri=https://www.bron.fr/cb&response_type=code&scope=openid&code_challenge=${'x'.repeat(43)}&code_challenge_method=S256`,
            { redirect: 'manual' },
          )
        ).status,
      ).toBe(303);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});

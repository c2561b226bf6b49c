// The kit's Apache mod_auth_openidc snippet (Debian's libapache2-mod-auth-openidc), included as
// written in an Apache started for this test (its own ServerRoot, port and PID file, foreground),
// driven in Chromium against a real GLC: login, claims passed to the application, logout back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glcWithChromium } from './support/browser-suite.js';
import { freePort, registerClient } from './support/glc.js';
import {
  checksSent,
  confirmLogoutAtGlc,
  createResident,
  recordAuthorizeRequests,
  serve,
  type Served,
  signInAtGlc,
  snippet,
} from './support/kit.js';

const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const suite = glcWithChromium();
let backend: Served;
let apache: ChildProcess | undefined;
let dir: string;

beforeAll(async () => {
  if (!existsSync(APACHE) || !existsSync(join(MODULES, 'mod_auth_openidc.so')))
    throw new Error('apache2 and libapache2-mod-auth-openidc are needed: apt-get install -y apache2 libapache2-mod-auth-openidc');
  // The commune's application behind Apache: shows what mod_auth_openidc passed it.
  backend = await serve((req, res) => {
    const claims = Object.fromEntries(
      Object.entries(req.headers)
        .filter(([k]) => k.startsWith('oidc_claim_'))
        .map(([k, v]) => [k.slice('oidc_claim_'.length), v]),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ claims }));
  });
  dir = mkdtempSync(join(tmpdir(), 'glc-apache-'));
});
afterAll(async () => {
  if (apache && apache.exitCode === null) {
    apache.kill('SIGTERM');
    await new Promise((resolve) => apache!.once('exit', resolve));
  }
  await backend?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startApache(env: Record<string, string>, port: number): Promise<void> {
  mkdirSync(join(dir, 'www'), { recursive: true });
  writeFileSync(
    join(dir, 'www', 'au-revoir.html'),
    '<!DOCTYPE html><html lang="fr"><title>Au revoir</title><h1>Vous êtes déconnecté</h1></html>',
  );
  chmodSync(dir, 0o755);
  const user = process.getuid?.() === 0 ? 'User www-data\nGroup www-data\n' : '';
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot "${dir}"
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/error.log"
LogLevel warn auth_openidc:info
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
${user}LoadModule mpm_prefork_module ${MODULES}/mod_mpm_prefork.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule proxy_module ${MODULES}/mod_proxy.so
LoadModule proxy_http_module ${MODULES}/mod_proxy_http.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
DocumentRoot "${dir}/www"
<Directory "${dir}/www">
  Require all granted
</Directory>
Include "${dir}/glc.conf"
`,
  );
  writeFileSync(join(dir, 'glc.conf'), `${snippet('mod_auth_openidc')}\n`);
  apache = spawn(APACHE, ['-X', '-d', dir, '-f', join(dir, 'httpd.conf')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  apache.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  apache.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  for (let i = 0; i < 100; i++) {
    if (apache.exitCode !== null)
      throw new Error(`apache2 exited: ${output}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
    const up = await fetch(`http://127.0.0.1:${port}/au-revoir.html`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`apache2 did not answer: ${output}`);
}

describe('Apache mod_auth_openidc (kit snippet)', () => {
  it('protects /demarches: login at GLC, claims passed to the application, logout back to the site', async () => {
    const { glc, chromium } = suite;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const client = await registerClient(glc, {
      name: 'Commune (Apache)',
      redirectUris: [`${base}/demarches/oidc-callback`],
      postLogoutRedirectUris: [`${base}/au-revoir.html`],
      scope: 'openid profile email',
    });
    await startApache(
      {
        GLC_ISSUER: glc.config.issuer,
        GLC_CLIENT_ID: client.clientId,
        GLC_CLIENT_SECRET: client.clientSecret!,
        BASE_URL: base,
        OIDC_CRYPTO_PASSPHRASE: randomBytes(24).toString('base64url'),
        APP_BACKEND: backend.origin,
      },
      port,
    );
    await createResident(glc, 'apache@example.fr');

    const page = await (await chromium.newContext()).newPage();
    const authorizeRequests = recordAuthorizeRequests(page, glc);
    await page.goto(`${base}/demarches/`);
    await signInAtGlc(page, glc, 'apache@example.fr');
    expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: true, nonce: true }); // as the kit says (§ 15)
    await page.waitForURL((u) => u.origin === base && u.pathname === '/demarches/');
    const seen = JSON.parse(await page.locator('body').innerText()) as { claims: Record<string, string> };
    expect(seen.claims.sub).toMatch(/^[A-Za-z0-9_-]{20,}$/); // the pairwise sub
    expect(seen.claims).toMatchObject({ name: 'Camille DUBOIS', given_name: 'Camille', family_name: 'DUBOIS', email: 'apache@example.fr' });

    await page.goto(`${base}/demarches/oidc-callback?logout=${encodeURIComponent(`${base}/au-revoir.html`)}`);
    await confirmLogoutAtGlc(page, glc);
    await page.waitForURL((u) => u.origin === base && u.pathname === '/au-revoir.html');
    // The Apache session is over: /demarches sends to GLC again.
    await page.goto(`${base}/demarches/`);
    await page.waitForURL((u) => u.origin === glc.config.issuer);
  });
});

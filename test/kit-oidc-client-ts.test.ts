// The kit's single-page app with oidc-client-ts (public client, PKCE, CORS), its snippet run as
// written in Chromium against a real GLC: login, claims from userinfo, renewal by refresh token
// with rotation, logout back to the app. And a silent renew in an iframe gets login_required.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glcWithChromium } from './support/browser-suite.js';
import { registerClient } from './support/glc.js';
import {
  checksSent,
  confirmLogoutAtGlc,
  createResident,
  recordAuthorizeRequests,
  serve,
  signInAtGlc,
  snippet,
  type Served,
} from './support/kit.js';

const suite = glcWithChromium();
let app: Served;
const files = new Map<string, { type: string; body: string }>();
const INDEX = `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Commune</title></head><body><main>
<p id="etat">…</p>
<button id="connexion">Se connecter</button> <button id="rafraichir">Rafraîchir</button> <button id="deconnexion">Se déconnecter</button>
</main>
<script src="/oidc-client-ts.min.js"></script><script src="/config.js"></script><script type="module" src="/app.js"></script>
</body></html>`;

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  const library = readFileSync(require.resolve('oidc-client-ts').replace(/dist\/.*$/, 'dist/browser/oidc-client-ts.min.js'), 'utf8');
  files.set('/oidc-client-ts.min.js', { type: 'text/javascript', body: library });
  files.set('/app.js', { type: 'text/javascript', body: snippet('oidc-client-ts') });
  const handler: http.RequestListener = (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = files.get(path) ?? { type: 'text/html; charset=utf-8', body: INDEX }; // every other path is the app
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  };
  app = await serve(handler);
});
afterAll(async () => {
  await app?.close();
});

describe('oidc-client-ts in a single-page app (kit snippet)', () => {
  it('logs in (public client, PKCE, CORS), reads userinfo, renews by refresh token with rotation, logs out back', async () => {
    const { glc, chromium } = suite;
    const base = app.origin;
    const client = await registerClient(glc, {
      name: 'Commune (SPA)',
      authMethod: 'none',
      redirectUris: [`${base}/callback`],
      postLogoutRedirectUris: [`${base}/`],
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    files.set('/config.js', {
      type: 'text/javascript',
      body: `window.GLC = ${JSON.stringify({ issuer: glc.config.issuer, clientId: client.clientId })};`,
    });
    await createResident(glc, 'spa@example.fr');

    const page = await (await chromium.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const authorizeRequests = recordAuthorizeRequests(page, glc);
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator('#etat').innerText()).toBe('Non connecté');
    await page.click('#connexion');
    await signInAtGlc(page, glc, 'spa@example.fr');
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    await expect.poll(() => page.locator('#etat').innerText()).toBe('Connecté : Camille DUBOIS (spa@example.fr)');
    expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: true, nonce: false }); // as the kit says (§ 15)

    // CORS: the token endpoint answers the app's origin (its redirect URI's), not another one.
    const preflight = (origin: string) =>
      fetch(`${glc.config.issuer}/token`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    expect((await preflight(base)).headers.get('access-control-allow-origin')).toBe(base);
    const tokenFromElsewhere = await fetch(`${glc.config.issuer}/token`, {
      method: 'POST',
      headers: { origin: 'http://autre-site.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: client.clientId }),
    });
    expect(tokenFromElsewhere.headers.get('access-control-allow-origin')).toBeNull();

    const stored = async () =>
      JSON.parse(
        await page.evaluate((key) => sessionStorage.getItem(key) ?? 'null', `oidc.user:${glc.config.issuer}:${client.clientId}`),
      ) as { refresh_token?: string; access_token: string } | null;
    const first = (await stored())!;
    expect(first.refresh_token).toBeTruthy();
    // Two renewals: each returns a new refresh token (rotation), and the second uses the first's.
    await page.click('#rafraichir');
    await expect.poll(async () => (await stored())?.refresh_token).not.toBe(first.refresh_token);
    const second = (await stored())!;
    await page.click('#rafraichir');
    await expect.poll(async () => (await stored())?.refresh_token).not.toBe(second.refresh_token);
    expect((await stored())!.access_token).not.toBe(first.access_token);
    await expect.poll(() => page.locator('#etat').innerText()).toBe('Connecté : Camille DUBOIS (spa@example.fr)');
    expect(errors).toEqual([]);

    await page.click('#deconnexion');
    await confirmLogoutAtGlc(page, glc);
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    await expect.poll(() => page.locator('#etat').innerText()).toBe('Non connecté');
  });

  it('a silent renew in a hidden iframe gets login_required: the GLC session cookie is SameSite=Lax', async () => {
    const { glc, chromium } = suite;
    const base = app.origin;
    const client = await registerClient(glc, {
      name: 'Commune (iframe)',
      authMethod: 'none',
      redirectUris: [`${base}/callback`],
      scope: 'openid profile',
    });
    await createResident(glc, 'iframe@example.fr');
    const page = await (await chromium.newContext()).newPage();
    // A GLC session exists in this browser (signed in to GLC's account area).
    await page.goto(`${glc.config.issuer}/compte`);
    await signInAtGlc(page, glc, 'iframe@example.fr');
    await page.waitForURL((u) => u.pathname === '/compte');
    const cookies = await page.context().cookies(glc.config.issuer);
    expect(cookies.find((c) => c.name === 'glc.session')?.sameSite).toBe('Lax');

    // What oidc-client-ts's signinSilent does without a refresh token: prompt=none in an iframe.
    await page.goto(`${base}/`);
    const callback = await page.evaluate(
      async ({ issuer, clientId, redirect }) => {
        const verifier = 'v'.repeat(64);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
        const challenge = btoa(String.fromCharCode(...digest))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '');
        const url = new URL(`${issuer}/auth`);
        for (const [k, v] of Object.entries({
          client_id: clientId,
          redirect_uri: redirect,
          response_type: 'code',
          scope: 'openid',
          prompt: 'none',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }))
          url.searchParams.set(k, v);
        const frame = document.createElement('iframe');
        frame.style.display = 'none';
        document.body.append(frame);
        return new Promise<string>((resolve) => {
          const timer = setInterval(() => {
            try {
              if (frame.contentWindow?.location.pathname === '/callback') {
                clearInterval(timer);
                resolve(frame.contentWindow.location.href);
              }
            } catch {
              /* still on GLC's origin */
            }
          }, 50);
          frame.src = url.href;
        });
      },
      { issuer: glc.config.issuer, clientId: client.clientId, redirect: `${base}/callback` },
    );
    expect(new URL(callback).searchParams.get('error')).toBe('login_required');
  });
});

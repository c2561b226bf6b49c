// The kit's Passport snippet (openid-client/passport), run as written, driven in Chromium against
// a real GLC: login without state nor nonce (PKCE only), claims from userinfo, logout back.
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { glcWithChromium } from './support/browser-suite.js';
import { registerClient } from './support/glc.js';
import {
  checksSent,
  confirmLogoutAtGlc,
  createResident,
  importSnippet,
  recordAuthorizeRequests,
  signInAtGlc,
  snippetService,
} from './support/kit.js';

const suite = glcWithChromium();
const service = snippetService();

describe('openid-client/passport (kit snippet)', () => {
  it('logs in with PKCE and no state nor nonce, reads the claims from userinfo, logs out back to the service', async () => {
    const { glc, chromium } = suite;
    const base = service.origin;
    const client = await registerClient(glc, {
      name: 'Commune (Passport)',
      redirectUris: [`${base}/callback`],
      postLogoutRedirectUris: [`${base}/`],
      scope: 'openid profile email',
    });
    Object.assign(process.env, {
      GLC_ISSUER: glc.config.issuer,
      BASE_URL: base,
      GLC_CLIENT_ID: client.clientId,
      GLC_CLIENT_SECRET: client.clientSecret!,
      SESSION_SECRET: 'y'.repeat(40),
    });
    const { createApp } = await importSnippet<{ createApp(): Promise<http.RequestListener> }>('passport', 'passport.mjs');
    service.use(await createApp());
    await createResident(glc, 'passport@example.fr');

    const page = await (await chromium.newContext()).newPage();
    const authorizeRequests = recordAuthorizeRequests(page, glc);
    await page.goto(`${base}/login`);
    await signInAtGlc(page, glc, 'passport@example.fr');
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({
      connecte: true,
      nom: 'Camille DUBOIS',
      email: 'passport@example.fr',
    });
    // What the strategy sent: PKCE S256, no state, no nonce (GLC requires PKCE only).
    expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: false, nonce: false });

    await page.goto(`${base}/logout`);
    await confirmLogoutAtGlc(page, glc);
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ connecte: false });
  });
});

// The kit's Auth.js (@auth/express) snippet, run as written, driven in Chromium against a real
// GLC: login, session.user from the ID token (--claims-in-id-token), and the RP-initiated logout
// the library lacks: local sign-out, then GLC's logout, back to the service.
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

describe('Auth.js (kit snippet)', () => {
  it('logs in, has name and email in session.user, logs out of the service and of GLC, back to the service', async () => {
    const { glc, chromium } = suite;
    const base = service.origin;
    const client = await registerClient(glc, {
      name: 'Commune (Auth.js)',
      redirectUris: [`${base}/auth/callback/grandlyon`],
      postLogoutRedirectUris: [`${base}/`],
      scope: 'openid profile email',
      claimsInIdToken: true,
    });
    Object.assign(process.env, {
      GLC_ISSUER: glc.config.issuer,
      BASE_URL: base,
      GLC_CLIENT_ID: client.clientId,
      GLC_CLIENT_SECRET: client.clientSecret!,
      SESSION_SECRET: 'z'.repeat(40),
    });
    const { createApp } = await importSnippet<{ createApp(): http.RequestListener }>('authjs', 'authjs.mjs');
    service.use(createApp());
    await createResident(glc, 'authjs@example.fr');

    const page = await (await chromium.newContext()).newPage();
    const authorizeRequests = recordAuthorizeRequests(page, glc);
    await page.goto(`${base}/auth/signin`);
    await page.getByRole('button', { name: /GrandLyon Connect/ }).click();
    await signInAtGlc(page, glc, 'authjs@example.fr');
    expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: false, nonce: false }); // as the kit says (§ 15)
    await page.waitForURL((u) => u.origin === base && !u.pathname.startsWith('/auth/'));
    await page.goto(`${base}/`);
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({
      connecte: true,
      nom: 'Camille DUBOIS',
      email: 'authjs@example.fr',
    });

    await page.goto(`${base}/deconnexion`);
    await page.getByRole('button', { name: /sign out/i }).click(); // Auth.js's own confirmation page
    await confirmLogoutAtGlc(page, glc);
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ connecte: false });
    // GLC's session is over too: the next login asks for the password again.
    await page.goto(`${base}/auth/signin`);
    await page.getByRole('button', { name: /GrandLyon Connect/ }).click();
    await page.waitForURL((u) => u.origin === glc.config.issuer && u.pathname.startsWith('/interaction/'));
    expect(await page.locator('#password').count()).toBe(1);
  });
});

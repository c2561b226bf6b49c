// The kit's express-openid-connect snippet, run as written, driven in Chromium against a real GLC:
// login, claims in req.oidc.user and userinfo, refresh with rotation, logout back to the service,
// and the exact post-logout URI the library sends (its baseURL, without a trailing slash).
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

describe('express-openid-connect (kit snippet)', () => {
  it('logs in, receives the claims, refreshes with rotation and logs out back to the service', async () => {
    const { glc, chromium } = suite;
    const base = service.origin; // no trailing slash, as communes write it
    const client = await registerClient(glc, {
      name: 'Commune (express-openid-connect)',
      redirectUris: [`${base}/callback`],
      postLogoutRedirectUris: [base],
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
      claimsInIdToken: true,
    });
    Object.assign(process.env, {
      GLC_ISSUER: glc.config.issuer,
      BASE_URL: base,
      GLC_CLIENT_ID: client.clientId,
      GLC_CLIENT_SECRET: client.clientSecret!,
      SESSION_SECRET: 'x'.repeat(40),
    });
    const { createApp } = await importSnippet<{ createApp(): http.RequestListener }>(
      'express-openid-connect',
      'express-openid-connect.mjs',
    );
    service.use(createApp());
    await createResident(glc, 'eoc@example.fr');

    const page = await (await chromium.newContext()).newPage();
    const authorizeRequests = recordAuthorizeRequests(page, glc);
    await page.goto(`${base}/login`);
    await signInAtGlc(page, glc, 'eoc@example.fr');
    expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: true, nonce: true }); // as the kit says (§ 15)
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ connecte: true, nom: 'Camille DUBOIS' });

    await page.goto(`${base}/profil`);
    const profile = JSON.parse(await page.locator('body').innerText()) as {
      idToken: Record<string, unknown>;
      userinfo: Record<string, unknown>;
    };
    expect(profile.idToken).toMatchObject({
      name: 'Camille DUBOIS',
      given_name: 'Camille',
      family_name: 'DUBOIS',
      email: 'eoc@example.fr',
    });
    expect(profile.userinfo).toMatchObject({ name: 'Camille DUBOIS', email: 'eoc@example.fr' });

    // Two refreshes in a row: the second uses the rotated token (a reused one revokes everything).
    for (let i = 0; i < 2; i++) {
      await page.goto(`${base}/rafraichir`);
      expect(JSON.parse(await page.locator('body').innerText())).toMatchObject({ expiresIn: expect.any(Number) });
    }
    await page.goto(`${base}/profil`);
    expect(JSON.parse(await page.locator('body').innerText())).toMatchObject({ userinfo: { email: 'eoc@example.fr' } });

    await page.goto(`${base}/logout`);
    await confirmLogoutAtGlc(page, glc);
    await page.waitForURL((u) => u.origin === base && u.pathname === '/');
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ connecte: false });
  });

  it('post-logout redirect URIs match exactly: « base/ » is not « base »', async () => {
    const { glc } = suite;
    const client = await registerClient(glc, { redirectUris: [`${service.origin}/callback`], postLogoutRedirectUris: [service.origin] });
    const end = (uri: string) =>
      fetch(`${glc.config.issuer}/session/end?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: uri })}`, {
        headers: { accept: 'text/html' },
      });
    expect((await end(service.origin)).status).toBe(200);
    expect((await end(`${service.origin}/`)).status).toBe(400);
  });
});

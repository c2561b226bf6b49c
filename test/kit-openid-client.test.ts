// The kit's plain openid-client snippet (Express, state + nonce + PKCE kept in the session), run
// as written in Chromium against a real GLC: login, userinfo, refresh with rotation, logout.
import type http from 'node:http';
import { describe, it } from 'vitest';
import { glcWithChromium } from './support/browser-suite.js';
import { registerClient } from './support/glc.js';
import { createResident, importSnippet, serverSideJourney, snippetService } from './support/kit.js';

const suite = glcWithChromium();
const service = snippetService();

describe('openid-client without Passport (kit snippet)', () => {
  it('logs in with state, nonce and PKCE, reads userinfo, refreshes with rotation, logs out back to the service', async () => {
    const { glc, chromium } = suite;
    const base = service.origin;
    const client = await registerClient(glc, {
      name: 'Commune (openid-client)',
      redirectUris: [`${base}/callback`],
      postLogoutRedirectUris: [`${base}/`],
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    Object.assign(process.env, {
      GLC_ISSUER: glc.config.issuer,
      BASE_URL: base,
      GLC_CLIENT_ID: client.clientId,
      GLC_CLIENT_SECRET: client.clientSecret!,
      SESSION_SECRET: 'o'.repeat(40),
    });
    const { createApp } = await importSnippet<{ createApp(): Promise<http.RequestListener> }>('openid-client', 'openid-client.mjs');
    service.use(await createApp());
    await createResident(glc, 'openid-client@example.fr');

    const page = await (await chromium.newContext()).newPage();
    await serverSideJourney(page, glc, base, 'openid-client@example.fr', { connecte: false });
  });
});

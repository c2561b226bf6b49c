// Pages restrict where their forms may lead (CSP form-action), and browsers check every redirect
// of a form submission. In Chromium: a service on another origin still receives its code after
// login and consent, and its post-logout page after the logout confirmation.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import type { Browser as PwBrowser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { authorizationRequest, registerClient, startTestGlc, STRONG_PASSWORD, type TestGlc } from './support/glc.js';
import { hashPassword } from '../src/accounts/passwords.js';

let glc: TestGlc;
let chromium: PwBrowser;
let service: http.Server;
let serviceOrigin: string;

beforeAll(async () => {
  [glc, chromium] = await Promise.all([startTestGlc(), launchChromium()]);
  service = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><html lang="fr"><title>Service</title><h1>Service de la commune</h1></html>'));
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  serviceOrigin = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => service?.close(resolve));
  await chromium?.close();
  await glc?.close();
});

describe('form-action and services on another origin', () => {
  it('lets the login, consent and logout forms lead to the service, and nowhere else', async () => {
    const client = await registerClient(glc, { redirectUris: [`${serviceOrigin}/cb`], postLogoutRedirectUris: [`${serviceOrigin}/au-revoir`] });
    await glc.services.accountStore.create({ email: 'csp@example.fr', passwordHash: await hashPassword(STRONG_PASSWORD), emailVerifiedAt: new Date() });
    const pending = await authorizationRequest(client);
    const page = await (await chromium.newContext()).newPage();

    const login = await page.goto(pending.url.href); // the login page, after the provider's redirect
    const csp = login!.headers()['content-security-policy']!;
    expect(csp).toContain(`form-action 'self'`);
    expect(csp).toContain(serviceOrigin);
    expect(csp).not.toMatch(/form-action[^;]*\bhttps?:(\s|;|$)/);

    await page.fill('#email', 'csp@example.fr');
    await page.fill('#password', STRONG_PASSWORD);
    await page.click('button:has-text("Se connecter")');
    await page.getByRole('button', { name: 'Autoriser' }).click();
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/cb');
    const callback = new URL(page.url());
    expect(callback.searchParams.get('code')).toBeTruthy();

    const tokens = await oidc.authorizationCodeGrant(client.config, callback, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce });
    await page.goto(oidc.buildEndSessionUrl(client.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${serviceOrigin}/au-revoir` }).href);
    await page.getByRole('button', { name: 'Me déconnecter' }).click();
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/au-revoir');
  });
});

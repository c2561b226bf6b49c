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
/** What the service received by POST (response_mode=form_post). */
const posted: { path: string; form: URLSearchParams }[] = [];

beforeAll(async () => {
  [glc, chromium] = await Promise.all([startTestGlc(), launchChromium()]);
  service = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (req.method === 'POST') posted.push({ path: req.url ?? '', form: new URLSearchParams(body) });
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!DOCTYPE html><html lang="fr"><title>Service</title><h1>Service de la commune</h1></html>');
    });
  });
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
    const client = await registerClient(glc, {
      redirectUris: [`${serviceOrigin}/cb`],
      postLogoutRedirectUris: [`${serviceOrigin}/au-revoir`],
    });
    await glc.services.accountStore.create({
      email: 'csp@example.fr',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
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

    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    await page.goto(
      oidc.buildEndSessionUrl(client.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${serviceOrigin}/au-revoir` })
        .href,
    );
    await page.getByRole('button', { name: 'Me déconnecter' }).click();
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/au-revoir');
  });
});

describe('response_mode=form_post to a service on another origin', () => {
  async function signedInPage(email: string) {
    await glc.services.accountStore.create({ email, passwordHash: await hashPassword(STRONG_PASSWORD), emailVerifiedAt: new Date() });
    return (await chromium.newContext()).newPage();
  }

  it('the auto-submitted page carries the code to the service, allowed by its policy and only its script', async () => {
    const client = await registerClient(glc, { redirectUris: [`${serviceOrigin}/form-post`] });
    const pending = await authorizationRequest(client, { response_mode: 'form_post' });
    const page = await signedInPage('form-post@example.fr');
    const policies: string[] = [];
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|violates/i.test(message.text())) violations.push(message.text());
    });
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/auth/')) policies.push(response.headers()['content-security-policy'] ?? '');
    });

    await page.goto(pending.url.href);
    await page.fill('#email', 'form-post@example.fr');
    await page.fill('#password', STRONG_PASSWORD);
    await page.click('button:has-text("Se connecter")');
    await page.getByRole('button', { name: 'Autoriser' }).click();
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/form-post');

    const received = posted.find((p) => p.path === '/form-post' && p.form.get('state') === pending.state);
    expect(received?.form.get('code')).toBeTruthy();
    expect(received?.form.get('iss')).toBe(glc.config.issuer);
    // The page that posted: form-action names GLC and this service only; script-src only a hash.
    const formPostPolicy = policies.at(-1)!;
    expect(formPostPolicy).toMatch(new RegExp(`form-action 'self' ${serviceOrigin.replace(/[.:/]/g, '\\$&')}(;|$)`));
    expect(formPostPolicy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(formPostPolicy).not.toContain("'none' 'sha256");
    expect(violations).toEqual([]);

    // The code received by POST is a real one.
    const callback = new URL(`${client.redirectUri}?${received!.form.toString()}`);
    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    expect(tokens.access_token).toBeTruthy();
  });

  it('an error is posted too: unsupported_response_type for response_type=id_token, and access_denied', async () => {
    const client = await registerClient(glc, { redirectUris: [`${serviceOrigin}/form-post-error`] });
    const page = await (await chromium.newContext()).newPage();
    // express-openid-connect's default: response_type=id_token, response_mode=form_post.
    const implicit = new URL(`${glc.config.issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      response_type: 'id_token',
      response_mode: 'form_post',
      scope: 'openid',
      nonce: 'n-1',
      state: 'etat-implicite',
    }))
      implicit.searchParams.set(k, v);
    await page.goto(implicit.href);
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/form-post-error');
    const error = posted.find((p) => p.form.get('state') === 'etat-implicite');
    expect(error?.form.get('error')).toBe('unsupported_response_type');

    // The resident refuses: access_denied reaches the service by POST as well.
    const pending = await authorizationRequest(client, { response_mode: 'form_post' });
    const resident = await signedInPage('form-post-refus@example.fr');
    await resident.goto(pending.url.href);
    await resident.fill('#email', 'form-post-refus@example.fr');
    await resident.fill('#password', STRONG_PASSWORD);
    await resident.click('button:has-text("Se connecter")');
    await resident.getByRole('button', { name: 'Refuser' }).click();
    await resident.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/form-post-error');
    expect(posted.find((p) => p.form.get('state') === pending.state)?.form.get('error')).toBe('access_denied');
  });

  it('a logout without GLC session still ends on the service (auto-submitted to GLC, then redirected)', async () => {
    const client = await registerClient(glc, {
      redirectUris: [`${serviceOrigin}/cb`],
      postLogoutRedirectUris: [`${serviceOrigin}/deconnecte`],
    });
    const page = await (await chromium.newContext()).newPage();
    const logout = new URL(`${glc.config.issuer}/session/end`);
    logout.searchParams.set('client_id', client.clientId);
    logout.searchParams.set('post_logout_redirect_uri', `${serviceOrigin}/deconnecte`);
    const first = await page.goto(logout.href);
    expect(first!.headers()['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    await page.waitForURL((u) => u.origin === serviceOrigin && u.pathname === '/deconnecte');
  });
});

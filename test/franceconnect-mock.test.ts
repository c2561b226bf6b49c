import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { bodyParser } from '@koa/bodyparser';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import Koa from 'koa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  createFranceConnectMock,
  loadFixtureIdentities,
  type FcMockClient,
  type FcMockOptions,
  type FranceConnectMock,
} from '../src/franceconnect/mock/mock.js';

/* ------------------------------------------------------------------ fixtures and helpers */

/** The fixture file: in the repository once copied there, else in the shared folder beside it. */
function fixturePath(): string {
  const candidates = [
    '../fixtures/franceconnect-identities.json',
    './fixtures/franceconnect-identities.json',
    '../../shared/fixtures/franceconnect-identities.json',
  ].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('franceconnect-identities.json not found');
  return found;
}

const identities = loadFixtureIdentities(fixturePath());

const RP = 'http://127.0.0.1:9';
const CLIENT: FcMockClient = {
  clientId: 'glc-dev',
  clientSecret: 'a-client-secret-of-at-least-32-characters',
  redirectUris: [`${RP}/franceconnect/callback`],
  postLogoutRedirectUris: [`${RP}/franceconnect/logged-out`],
};
const OTHER_CLIENT: FcMockClient = {
  clientId: 'other-service',
  clientSecret: 'another-client-secret-of-32-characters!!',
  redirectUris: [`${RP}/other/callback`],
  postLogoutRedirectUris: [`${RP}/other/logged-out`],
};
const ISSUER_PATH = '/franceconnect-mock/api/v2';
const T0 = 1_800_000_000;

const random64 = (): string => randomBytes(32).toString('hex');

interface Running {
  mock: FranceConnectMock;
  issuer: string;
  base: string;
  close(): Promise<void>;
}

let clock = T0;
let running: Running;

/** A real HTTP server on 127.0.0.1, port 0, with the mock mounted in front of a stand-in app. */
async function startMock(overrides: Partial<FcMockOptions> = {}, before?: Koa.Middleware): Promise<Running> {
  const app = new Koa();
  if (before) app.use(before);
  // Assigned once the server listens (the mock needs its address); the middleware reads it at request time.
  // eslint-disable-next-line prefer-const
  let mock: FranceConnectMock | undefined;
  app.use((ctx, next) => (mock ? mock.middleware(ctx, next) : next()));
  app.use((ctx) => {
    ctx.status = 418;
    ctx.body = 'main application';
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}${ISSUER_PATH}`;
  mock = await createFranceConnectMock({
    issuer,
    clients: [CLIENT, OTHER_CLIENT],
    identities,
    now: () => clock,
    ...overrides,
  });
  const started = mock;
  return {
    mock: started,
    issuer,
    base,
    close: async () => {
      started.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** fetch with manual redirects and a cookie jar, like a browser driven by hand. */
class Browser {
  readonly cookies = new Map<string, string>();

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(url, { method: 'GET', headers });
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('Cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  }

  private store(setCookie: string): void {
    const [pair = '', ...attributes] = setCookie.split(';');
    const [name = '', value = ''] = pair.trim().split('=');
    const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
    if (!value || expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

type Params = Record<string, string | null>;

function defaultAuthorizeParams(client: FcMockClient = CLIENT): Record<string, string> {
  return {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUris[0] ?? '',
    scope: 'openid identite_pivot email preferred_username',
    acr_values: 'eidas1',
    state: random64(),
    nonce: random64(),
  };
}

/** /authorize URL; a null value removes the parameter. */
function authorizeUrl(overrides: Params = {}, client: FcMockClient = CLIENT): string {
  const url = new URL(`${running.issuer}/authorize`);
  const params: Params = { ...defaultAuthorizeParams(client), ...overrides };
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.append(name, value);
  return url.href;
}

function location(response: Response): URL {
  const header = response.headers.get('location');
  if (!header) throw new Error(`no Location header (status ${response.status})`);
  return new URL(header, running.base);
}

interface LoginPage {
  html: string;
  csrf: string;
  loginAction: string;
  cancelAction: string;
}

function parseLoginPage(html: string): LoginPage {
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  const loginAction = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const cancelAction = /formaction="([^"]+)"/.exec(html)?.[1];
  if (!csrf || !loginAction || !cancelAction) throw new Error('not a login page');
  return { html, csrf, loginAction: running.base + loginAction, cancelAction: running.base + cancelAction };
}

/** /authorize then the interaction page it redirects to. */
async function openLoginPage(browser: Browser, url: string): Promise<LoginPage> {
  const response = await browser.get(url);
  expect(response.status).toBe(302);
  const interaction = location(response);
  expect(interaction.pathname).toMatch(new RegExp(`^${ISSUER_PATH}/interaction/`));
  const page = await browser.get(interaction.href);
  expect(page.status).toBe(200);
  return parseLoginPage(await page.text());
}

interface Authorized {
  code: string;
  state: string;
  nonce: string;
  callback: URL;
}

/** The whole front channel: /authorize, login form, back to the service with a code. */
async function loginAs(browser: Browser, login = 'test', overrides: Params = {}, client: FcMockClient = CLIENT): Promise<Authorized> {
  const state = overrides.state ?? random64();
  const nonce = overrides.nonce ?? random64();
  const page = await openLoginPage(browser, authorizeUrl({ ...overrides, state, nonce }, client));
  const response = await browser.post(page.loginAction, { csrf_token: page.csrf, login, password: '123' });
  expect(response.status).toBe(303);
  const callback = location(response);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return { code, state, nonce, callback };
}

function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${running.issuer}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

function exchangeForm(code: string, client: FcMockClient = CLIENT): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUris[0] ?? '',
    client_id: client.clientId,
    client_secret: client.clientSecret,
  };
}

interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  id_token: string;
  scope: string;
}

async function exchange(code: string, client: FcMockClient = CLIENT): Promise<TokenSet> {
  const response = await tokenRequest(exchangeForm(code, client));
  expect(response.status).toBe(200);
  return (await response.json()) as TokenSet;
}

async function jwksOf(): Promise<JSONWebKeySet> {
  return (await (await fetch(`${running.issuer}/jwks`)).json()) as JSONWebKeySet;
}

/** Verifies a JWT of the mock against its published JWKS, at the mock's clock. */
async function verifyWithJwks(jwt: string, audience = CLIENT.clientId, alg = 'ES256'): Promise<JWTPayload> {
  const { payload } = await jwtVerify(jwt, createLocalJWKSet(await jwksOf()), {
    issuer: running.issuer,
    audience,
    algorithms: [alg],
    currentDate: new Date(clock * 1000),
  });
  return payload;
}

function userinfoRequest(accessToken: string | undefined, method = 'GET'): Promise<Response> {
  return fetch(`${running.issuer}/userinfo`, {
    method,
    headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {},
  });
}

/** Logs in as `login` with `scope`, then returns the verified userinfo payload. */
async function userinfoFor(login: string, scope: string): Promise<JWTPayload> {
  const { code } = await loginAs(new Browser(), login, { scope });
  const tokens = await exchange(code);
  const response = await userinfoRequest(tokens.access_token);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/jwt/);
  return verifyWithJwks(await response.text());
}

const FRAME_CLAIMS = ['aud', 'exp', 'iat', 'iss', 'sub'];

function identityClaims(payload: JWTPayload): Record<string, unknown> {
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !FRAME_CLAIMS.includes(name)));
}

async function expectRefusalPage(response: Response): Promise<string> {
  expect(response.status).toBe(400);
  expect(response.headers.get('location')).toBeNull();
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await response.text();
  expect(html).toContain('Y030007');
  return html;
}

beforeEach(async () => {
  clock = T0;
  running = await startMock();
});

afterEach(async () => {
  await running.close();
});

/* ------------------------------------------------------------------ tests */

describe('start-up', () => {
  it('refuses to run in production', async () => {
    await expect(createFranceConnectMock({ issuer: 'http://localhost/fc', clients: [], identities, production: true })).rejects.toThrow(
      /refuses to run in production/,
    );
  });

  it('loads every fixture identity, error scenarios included, with the common password', () => {
    const logins = identities.map((identity) => identity.login);
    expect(logins).toContain('test');
    expect(logins).toContain('refus_insee');
    expect(identities.every((identity) => identity.password === '123')).toBe(true);
  });

  it('passes requests outside its path to the rest of the application', async () => {
    const response = await fetch(`${running.base}/franceconnect-mock/api/v2x/authorize`);
    expect(response.status).toBe(418);
    expect((await fetch(`${running.base}/`)).status).toBe(418);
  });

  it('works behind a body parser mounted before it', async () => {
    await running.close();
    running = await startMock({}, bodyParser());
    const tokens = await exchange((await loginAs(new Browser())).code);
    expect(tokens.token_type).toBe('Bearer');
    const replay = await tokenRequest({ ...exchangeForm('x'), client_secret: 'wrong' });
    expect(replay.status).toBe(401);
  });

  it('answers 404 for an unknown path under its prefix, 405 for a wrong method', async () => {
    expect((await fetch(`${running.issuer}/logout`)).status).toBe(404);
    const wrongMethod = await fetch(`${running.issuer}/token`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });
});

describe('discovery and JWKS', () => {
  it('publishes the FranceConnect v2 configuration', async () => {
    const response = await fetch(`${running.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const config = (await response.json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      issuer: running.issuer,
      authorization_endpoint: `${running.issuer}/authorize`,
      token_endpoint: `${running.issuer}/token`,
      userinfo_endpoint: `${running.issuer}/userinfo`,
      end_session_endpoint: `${running.issuer}/session/end`,
      jwks_uri: `${running.issuer}/jwks`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      token_endpoint_auth_methods_supported: ['client_secret_post'],
      id_token_signing_alg_values_supported: ['ES256'],
      userinfo_signing_alg_values_supported: ['ES256'],
      acr_values_supported: ['eidas1'],
    });
    expect(config.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'given_name', 'birthplace', 'profile', 'birth', 'identite_pivot', 'email']),
    );
    expect(config.claims_supported).toEqual(expect.arrayContaining(['sub', 'birthcountry', 'idp_birthdate']));
  });

  it('publishes the public ES256 key with a pkcs11-style kid, no private part', async () => {
    const { keys } = await jwksOf();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'pkcs11:ES256:hsm', alg: 'ES256', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('signs with RS256 when configured so', async () => {
    await running.close();
    running = await startMock({ signingAlg: 'RS256' });
    const { keys } = await jwksOf();
    expect(keys[0]).toMatchObject({ kty: 'RSA', kid: 'pkcs11:RS256:hsm', alg: 'RS256' });
    expect(keys[0]).not.toHaveProperty('d');
    const tokens = await exchange((await loginAs(new Browser())).code);
    expect(decodeProtectedHeader(tokens.id_token).alg).toBe('RS256');
    await verifyWithJwks(tokens.id_token, CLIENT.clientId, 'RS256');
  });
});

describe('/authorize refusals: FranceConnect error page, never a redirect', () => {
  const refused: Array<[string, Params]> = [
    ['PKCE code_challenge', { code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }],
    ['max_age', { max_age: '0' }],
    ['login_hint', { login_hint: 'someone@example.fr' }],
    ['response_mode', { response_mode: 'query' }],
    ['missing acr_values', { acr_values: null }],
    ['empty acr_values', { acr_values: '' }],
    ['missing state', { state: null }],
    ['missing nonce', { nonce: null }],
    ['missing redirect_uri', { redirect_uri: null }],
    ['missing client_id', { client_id: null }],
    ['missing response_type', { response_type: null }],
    ['nonce of 21 characters', { nonce: 'a'.repeat(21) }],
    ['state of 21 characters', { state: 'a'.repeat(21) }],
    ['prompt=none', { prompt: 'none' }],
    ['prompt=select_account', { prompt: 'login select_account' }],
    ['prompt repeated', { prompt: 'login login' }],
    ['empty prompt', { prompt: '' }],
    ['unknown client', { client_id: 'nobody' }],
    ['redirect_uri with a trailing slash', { redirect_uri: `${CLIENT.redirectUris[0]}/` }],
    ['redirect_uri of another client', { redirect_uri: OTHER_CLIENT.redirectUris[0] ?? '' }],
    ['response_type=token', { response_type: 'token' }],
    ['response_type=code id_token', { response_type: 'code id_token' }],
  ];

  it.each(refused)('refuses %s', async (_label, overrides) => {
    await expectRefusalPage(await fetch(authorizeUrl(overrides), { redirect: 'manual' }));
  });

  it('refuses a repeated parameter', async () => {
    const url = `${authorizeUrl()}&state=${random64()}`;
    const html = await expectRefusalPage(await fetch(url, { redirect: 'manual' }));
    expect(html).toContain('plusieurs fois');
  });

  it('names the refused parameter, escaped, in a French page with its banner', async () => {
    const html = await expectRefusalPage(await fetch(authorizeUrl({ '<b>x</b>': '1' }), { redirect: 'manual' }));
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain('Bouchon FranceConnect — environnement de développement');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).not.toContain('<b>x</b>');
  });

  it('accepts nonce and state of exactly 22 characters and the optional parameters', async () => {
    const response = await fetch(
      authorizeUrl({
        nonce: 'n'.repeat(22),
        state: 's'.repeat(22),
        prompt: 'login consent',
        ui_locales: 'fr',
        idp_hint: 'some-idp',
        claims: '{"id_token":{"amr":{"essential":true}}}',
      }),
      { redirect: 'manual' },
    );
    expect(response.status).toBe(302);
    expect(location(response).pathname).toContain('/interaction/');
  });
});

describe('/authorize errors returned to the service', () => {
  async function expectErrorRedirect(overrides: Params, error: string): Promise<URL> {
    const state = random64();
    const response = await fetch(authorizeUrl({ ...overrides, state }), { redirect: 'manual' });
    expect(response.status).toBe(302);
    const callback = location(response);
    expect(callback.origin + callback.pathname).toBe(CLIENT.redirectUris[0]);
    expect(callback.searchParams.get('error')).toBe(error);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(running.issuer);
    expect(callback.searchParams.get('code')).toBeNull();
    return callback;
  }

  it.each(['eidas2', 'eidas3', 'eidas1 eidas2'])('answers invalid_acr to acr_values=%s', async (acr) => {
    await expectErrorRedirect({ acr_values: acr }, 'invalid_acr');
  });

  it('answers invalid_request when scope lacks openid', async () => {
    await expectErrorRedirect({ scope: 'profile email' }, 'invalid_request');
    await expectErrorRedirect({ scope: null }, 'invalid_request');
  });

  it('answers invalid_scope to an unknown scope', async () => {
    await expectErrorRedirect({ scope: 'openid phone' }, 'invalid_scope');
  });

  it('answers the forced error of faults.authorizeError', async () => {
    running.mock.faults.authorizeError = 'server_error';
    const callback = await expectErrorRedirect({}, 'server_error');
    expect(callback.searchParams.get('error_description')).toBeTruthy();
  });
});

describe('login page', () => {
  it('lists the test identities in an accessible French form', async () => {
    const { html } = await openLoginPage(new Browser(), authorizeUrl());
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain('Bouchon FranceConnect — environnement de développement');
    expect(html).toMatch(/<label for="login">Identifiant<\/label>/);
    expect(html).toMatch(/<label for="password">Mot de passe<\/label>/);
    expect(html).toContain('Angela Claire Louise DUBOIS');
    expect(html).toContain('naissance_corse_2a');
    expect(html).toContain('refus_insee');
    expect(html).toContain('Annuler');
  });

  it('logs in with password 123 and returns code, state and iss to the service', async () => {
    const { code, state, callback } = await loginAs(new Browser());
    expect(callback.origin + callback.pathname).toBe(CLIENT.redirectUris[0]);
    expect(code.length).toBeGreaterThanOrEqual(43);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(running.issuer);
  });

  it('logs in with an identity picked from the list', async () => {
    const browser = new Browser();
    const page = await openLoginPage(browser, authorizeUrl());
    const response = await browser.post(page.loginAction, { csrf_token: page.csrf, pick: 'sans_mail' });
    expect(response.status).toBe(303);
    expect(location(response).searchParams.get('code')).toBeTruthy();
  });

  it('re-renders the form with a French error on a wrong password', async () => {
    const browser = new Browser();
    const page = await openLoginPage(browser, authorizeUrl());
    const response = await browser.post(page.loginAction, { csrf_token: page.csrf, login: 'test', password: '124' });
    expect(response.status).toBe(401);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('Identifiant ou mot de passe incorrect');
    expect(html).toContain('role="alert"');
    // The same pending request still works afterwards.
    const retry = await browser.post(page.loginAction, { csrf_token: page.csrf, login: 'test', password: '123' });
    expect(location(retry).searchParams.get('code')).toBeTruthy();
  });

  it('refuses a form without the CSRF token of the pending request', async () => {
    const browser = new Browser();
    const page = await openLoginPage(browser, authorizeUrl());
    const other = await openLoginPage(browser, authorizeUrl());
    for (const csrf of ['', other.csrf]) {
      const response = await browser.post(page.loginAction, { csrf_token: csrf, login: 'test', password: '123' });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it('refuses to complete a login started in another browser', async () => {
    const page = await openLoginPage(new Browser(), authorizeUrl());
    const intruder = new Browser();
    const response = await intruder.post(page.loginAction, { csrf_token: page.csrf, login: 'test', password: '123' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('forgets a pending login after 10 minutes', async () => {
    const browser = new Browser();
    const page = await openLoginPage(browser, authorizeUrl());
    clock += 600;
    const response = await browser.post(page.loginAction, { csrf_token: page.csrf, login: 'test', password: '123' });
    expect(response.status).toBe(400);
  });

  it('answers access_denied with state and iss when the resident cancels', async () => {
    const browser = new Browser();
    const state = random64();
    const page = await openLoginPage(browser, authorizeUrl({ state }));
    const response = await browser.post(page.cancelAction, { csrf_token: page.csrf });
    expect(response.status).toBe(303);
    const callback = location(response);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('error_description')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(running.issuer);
    // Cancelling consumed the request.
    const again = await browser.post(page.loginAction, { csrf_token: page.csrf, login: 'test', password: '123' });
    expect(again.status).toBe(400);
  });

  it.each([
    ['refus_insee', 'access_denied'],
    ['erreur_technique', 'server_error'],
  ])('honours the error identity %s (%s) and opens no session', async (login, error) => {
    const browser = new Browser();
    const state = random64();
    const page = await openLoginPage(browser, authorizeUrl({ state }));
    const response = await browser.post(page.loginAction, { csrf_token: page.csrf, login, password: '123' });
    const callback = location(response);
    expect(callback.searchParams.get('error')).toBe(error);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(running.issuer);
    expect((await browser.get(authorizeUrl())).headers.get('location')).toContain('/interaction/');
  });
});

describe('SSO session', () => {
  it('sends the browser straight back with a code while the session lives', async () => {
    const browser = new Browser();
    await loginAs(browser);
    const state = random64();
    const response = await browser.get(authorizeUrl({ state }));
    expect(response.status).toBe(302);
    const callback = location(response);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(running.issuer);
    const silent = await exchange(callback.searchParams.get('code') ?? '');
    expect(decodeJwt(silent.id_token).auth_time).toBe(T0);
  });

  it('shows the login page again with prompt=login', async () => {
    const browser = new Browser();
    await loginAs(browser);
    const response = await browser.get(authorizeUrl({ prompt: 'login' }));
    expect(location(response).pathname).toContain('/interaction/');
  });

  it('ends after 30 minutes', async () => {
    const browser = new Browser();
    await loginAs(browser);
    clock += 29 * 60;
    expect(location(await browser.get(authorizeUrl())).searchParams.get('code')).toBeTruthy();
    clock += 60;
    expect(location(await browser.get(authorizeUrl())).pathname).toContain('/interaction/');
  });

  it('serves other services too, with their own pairwise sub', async () => {
    const browser = new Browser();
    const first = await exchange((await loginAs(browser)).code);
    const response = await browser.get(authorizeUrl({}, OTHER_CLIENT));
    const code = location(response).searchParams.get('code') ?? '';
    const second = await exchange(code, OTHER_CLIENT);
    expect(decodeJwt(second.id_token).sub).not.toBe(decodeJwt(first.id_token).sub);
  });
});

describe('/token', () => {
  it('exchanges a code with client_secret_post', async () => {
    const response = await tokenRequest(exchangeForm((await loginAs(new Browser())).code));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = (await response.json()) as TokenSet;
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      expires_in: 60,
      scope: 'openid identite_pivot email preferred_username',
    });
    expect(tokens.access_token.length).toBeGreaterThanOrEqual(43);
    expect(tokens.id_token.split('.')).toHaveLength(3);
  });

  it('refuses client_secret_basic with 401 invalid_client, even with right credentials', async () => {
    const { code } = await loginAs(new Browser());
    const basic = Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64');
    const response = await tokenRequest(exchangeForm(code), { Authorization: `Basic ${basic}` });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a wrong or missing secret with 401 invalid_client', async () => {
    const { code } = await loginAs(new Browser());
    for (const client_secret of [`${CLIENT.clientSecret}x`, '']) {
      const response = await tokenRequest({ ...exchangeForm(code), client_secret });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    }
    // Failed client authentication does not burn the code.
    expect((await tokenRequest(exchangeForm(code))).status).toBe(200);
  });

  it('refuses a JSON body and a grant other than authorization_code', async () => {
    const { code } = await loginAs(new Browser());
    const json = await fetch(`${running.issuer}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(exchangeForm(code)),
    });
    expect(json.status).toBe(400);
    const refresh = await tokenRequest({ ...exchangeForm(code), grant_type: 'refresh_token' });
    expect(await refresh.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('refuses a redirect_uri other than the one of the request', async () => {
    const { code } = await loginAs(new Browser());
    const response = await tokenRequest({ ...exchangeForm(code), redirect_uri: `${RP}/elsewhere` });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a code issued to another client', async () => {
    const { code } = await loginAs(new Browser());
    const form = { ...exchangeForm(code, OTHER_CLIENT), redirect_uri: CLIENT.redirectUris[0] ?? '' };
    const response = await tokenRequest(form);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a PKCE verifier: FranceConnect has no PKCE', async () => {
    const { code } = await loginAs(new Browser());
    const response = await tokenRequest({ ...exchangeForm(code), code_verifier: 'v'.repeat(43) });
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers invalid_grant to a reused code and revokes what it gave', async () => {
    const { code } = await loginAs(new Browser());
    const tokens = await exchange(code);
    expect((await userinfoRequest(tokens.access_token)).status).toBe(200);
    const replay = await tokenRequest(exchangeForm(code));
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await userinfoRequest(tokens.access_token)).status).toBe(401);
  });

  it('answers invalid_grant to an unknown code', async () => {
    const response = await tokenRequest(exchangeForm(randomBytes(32).toString('base64url')));
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('lets a code live 30 seconds', async () => {
    const early = await loginAs(new Browser());
    clock += 29;
    expect((await tokenRequest(exchangeForm(early.code))).status).toBe(200);
    const late = await loginAs(new Browser());
    clock += 30;
    const response = await tokenRequest(exchangeForm(late.code));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
  });
});

describe('ID token', () => {
  it('carries every FranceConnect claim and verifies against the JWKS', async () => {
    const { code, nonce } = await loginAs(new Browser());
    clock += 5;
    const tokens = await exchange(code);
    const header = decodeProtectedHeader(tokens.id_token);
    expect(header).toMatchObject({ alg: 'ES256', kid: 'pkcs11:ES256:hsm' });
    const claims = await verifyWithJwks(tokens.id_token);
    const digest = createHash('sha256').update(tokens.access_token).digest();
    expect(claims).toMatchObject({
      iss: running.issuer,
      aud: CLIENT.clientId,
      iat: T0 + 5,
      exp: T0 + 65,
      auth_time: T0,
      acr: 'eidas1',
      nonce,
      at_hash: digest.subarray(0, 16).toString('base64url'),
    });
    expect(claims.sub).toMatch(/^[0-9a-f]{64}v1$/);
  });

  it('keeps sub stable per identity and client, different across identities and clients', async () => {
    const subOf = async (login: string, client: FcMockClient = CLIENT) =>
      decodeJwt((await exchange((await loginAs(new Browser(), login, {}, client)).code, client)).id_token).sub;
    const sub = await subOf('test');
    expect(await subOf('test')).toBe(sub);
    expect(await subOf('avec_nom_dusage')).not.toBe(sub);
    expect(await subOf('test', OTHER_CLIENT)).not.toBe(sub);
  });
});

describe('/userinfo', () => {
  it('returns the pivot identity as a signed JWT, per granted scope', async () => {
    const payload = await userinfoFor('test', 'openid identite_pivot email preferred_username');
    expect(payload).toMatchObject({ iss: running.issuer, aud: CLIENT.clientId, iat: T0, exp: T0 + 60 });
    expect(payload.sub).toMatch(/^[0-9a-f]{64}v1$/);
    expect(identityClaims(payload)).toEqual({
      given_name: 'Angela Claire Louise',
      given_name_array: ['Angela', 'Claire', 'Louise'],
      family_name: 'DUBOIS',
      birthdate: '1962-08-24',
      idp_birthdate: '1962-08-24',
      gender: 'female',
      birthplace: '75107',
      birthcountry: '99100',
      email: 'angela.dubois@example.fr',
      preferred_username: '',
    });
  });

  it('has the same sub as the ID token', async () => {
    const { code } = await loginAs(new Browser(), 'test');
    const tokens = await exchange(code);
    const userinfo = await verifyWithJwks(await (await userinfoRequest(tokens.access_token)).text());
    expect(userinfo.sub).toBe(decodeJwt(tokens.id_token).sub);
  });

  it('returns only sub for scope openid', async () => {
    expect(identityClaims(await userinfoFor('test', 'openid'))).toEqual({});
  });

  it('gives an empty birthplace for a birth abroad', async () => {
    expect(identityClaims(await userinfoFor('naissance_algerie', 'openid birth'))).toEqual({
      birthplace: '',
      birthcountry: '99352',
    });
  });

  it('gives the Corsican commune code 2A004', async () => {
    expect(identityClaims(await userinfoFor('naissance_corse_2a', 'openid birthplace'))).toEqual({
      birthplace: '2A004',
    });
  });

  it('leaves out the email of an identity that has none', async () => {
    expect(identityClaims(await userinfoFor('sans_mail', 'openid email given_name'))).toEqual({
      given_name: 'Bernard',
      given_name_array: ['Bernard'],
    });
  });

  it('pads a presumed birth date and keeps the raw one in idp_birthdate', async () => {
    expect(identityClaims(await userinfoFor('date_presumee', 'openid birthdate'))).toEqual({
      birthdate: '1992-01-01',
      idp_birthdate: '1992-00-00',
    });
  });

  it('expands profile, with several first names, a usage name and gender unspecified', async () => {
    expect(identityClaims(await userinfoFor('avec_nom_dusage', 'openid profile'))).toMatchObject({
      family_name: 'MARTIN',
      preferred_username: 'DURAND',
    });
    expect(identityClaims(await userinfoFor('plusieurs_prenoms', 'openid profile'))).toMatchObject({
      given_name_array: ['Louis', 'Jean', 'Baptiste'],
    });
    const profile = identityClaims(await userinfoFor('genre_indefini', 'openid profile'));
    expect(profile).toMatchObject({ gender: 'unspecified' });
    expect(profile).not.toHaveProperty('birthplace');
    expect(profile).not.toHaveProperty('email');
  });

  it('answers POST as well as GET', async () => {
    const tokens = await exchange((await loginAs(new Browser())).code);
    expect((await userinfoRequest(tokens.access_token, 'POST')).status).toBe(200);
  });

  it('asks for a bearer token with 401 and WWW-Authenticate', async () => {
    const missing = await userinfoRequest(undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const invalid = await userinfoRequest('not-a-token');
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('lets an access token live 60 seconds', async () => {
    const tokens = await exchange((await loginAs(new Browser())).code);
    clock += 59;
    expect((await userinfoRequest(tokens.access_token)).status).toBe(200);
    clock += 1;
    const expired = await userinfoRequest(tokens.access_token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');
  });
});

describe('/session/end', () => {
  async function loggedIn(): Promise<{ browser: Browser; idToken: string }> {
    const browser = new Browser();
    const { code } = await loginAs(browser);
    return { browser, idToken: (await exchange(code)).id_token };
  }

  function endSessionUrl(params: Params): string {
    const url = new URL(`${running.issuer}/session/end`);
    for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.append(name, value);
    return url.href;
  }

  it('ends the SSO session and returns to the registered address with state', async () => {
    const { browser, idToken } = await loggedIn();
    clock += 3600; // the ID token has long expired: logout must still work
    const state = random64();
    const response = await browser.get(
      endSessionUrl({
        id_token_hint: idToken,
        post_logout_redirect_uri: CLIENT.postLogoutRedirectUris[0] ?? '',
        state,
        client_id: CLIENT.clientId,
      }),
    );
    expect(response.status).toBe(302);
    const back = location(response);
    expect(back.origin + back.pathname).toBe(CLIENT.postLogoutRedirectUris[0]);
    expect(back.searchParams.get('state')).toBe(state);
    expect(browser.cookies.size).toBe(0);
  });

  it('no longer logs the browser in silently afterwards', async () => {
    const { browser, idToken } = await loggedIn();
    const cookieBefore = [...browser.cookies.values()][0];
    await browser.get(
      endSessionUrl({
        id_token_hint: idToken,
        post_logout_redirect_uri: CLIENT.postLogoutRedirectUris[0] ?? '',
        state: random64(),
      }),
    );
    expect(location(await browser.get(authorizeUrl())).pathname).toContain('/interaction/');
    // Replaying the old cookie does not bring the session back: it ended server-side too.
    const replay = new Browser();
    replay.cookies.set('fc_mock_session', cookieBefore ?? '');
    expect(location(await replay.get(authorizeUrl())).pathname).toContain('/interaction/');
  });

  it('refuses doubtful logout requests with an error page', async () => {
    const { idToken } = await loggedIn();
    const otherToken = (await exchange((await loginAs(new Browser(), 'test', {}, OTHER_CLIENT)).code, OTHER_CLIENT)).id_token;
    running.mock.faults.idTokenIss = 'https://elsewhere.example/api/v2';
    const foreignIssuer = (await exchange((await loginAs(new Browser())).code)).id_token;
    delete running.mock.faults.idTokenIss;
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...decodeJwt(idToken) })
      .setProtectedHeader({ alg: 'ES256', kid: 'pkcs11:ES256:hsm' })
      .sign(privateKey);
    const valid: Params = {
      id_token_hint: idToken,
      post_logout_redirect_uri: CLIENT.postLogoutRedirectUris[0] ?? '',
      state: random64(),
    };
    const cases: Params[] = [
      { ...valid, id_token_hint: null },
      { ...valid, state: null },
      { ...valid, post_logout_redirect_uri: null },
      { ...valid, post_logout_redirect_uri: `${RP}/not-registered` },
      { ...valid, post_logout_redirect_uri: CLIENT.redirectUris[0] ?? '' },
      { ...valid, id_token_hint: otherToken },
      { ...valid, id_token_hint: forged },
      { ...valid, id_token_hint: 'not.a.jwt' },
      { ...valid, id_token_hint: foreignIssuer },
      { ...valid, client_id: OTHER_CLIENT.clientId },
      { ...valid, redirect_uri: CLIENT.redirectUris[0] ?? '' },
    ];
    for (const params of cases) {
      await expectRefusalPage(await fetch(endSessionUrl(params), { redirect: 'manual' }));
    }
  });
});

describe('signing key rotation', () => {
  it('signs with the new key and publishes the new and the previous ones', async () => {
    const before = await exchange((await loginAs(new Browser())).code);
    const kid = await running.mock.rotateSigningKey();
    expect(kid).toBe('pkcs11:ES256:hsm-2');
    expect((await jwksOf()).keys.map((key) => key.kid)).toEqual(['pkcs11:ES256:hsm-2', 'pkcs11:ES256:hsm']);
    const after = await exchange((await loginAs(new Browser())).code);
    expect(decodeProtectedHeader(after.id_token).kid).toBe('pkcs11:ES256:hsm-2');
    await verifyWithJwks(after.id_token);
    await verifyWithJwks(before.id_token);

    await running.mock.rotateSigningKey();
    expect((await jwksOf()).keys.map((key) => key.kid)).toEqual(['pkcs11:ES256:hsm-3', 'pkcs11:ES256:hsm-2']);
    await expect(verifyWithJwks(before.id_token)).rejects.toThrow();
  });
});

describe('faults for client-side negative tests', () => {
  async function faultyIdToken(): Promise<{ idToken: string; nonce: string; accessToken: string }> {
    const { code, nonce } = await loginAs(new Browser());
    const tokens = await exchange(code);
    return { idToken: tokens.id_token, nonce, accessToken: tokens.access_token };
  }

  it('signs the ID token HS256 with the client secret', async () => {
    running.mock.faults.idTokenAlg = 'HS256';
    const { idToken } = await faultyIdToken();
    expect(decodeProtectedHeader(idToken).alg).toBe('HS256');
    await jwtVerify(idToken, new TextEncoder().encode(CLIENT.clientSecret), { currentDate: new Date(clock * 1000) });
  });

  it('sends an unsigned ID token', async () => {
    running.mock.faults.idTokenAlg = 'none';
    const { idToken } = await faultyIdToken();
    expect(decodeProtectedHeader(idToken).alg).toBe('none');
    expect(idToken.endsWith('.')).toBe(true);
  });

  it('uses an unknown kid, a wrong aud, a wrong iss, a wrong nonce', async () => {
    Object.assign(running.mock.faults, {
      idTokenKid: 'pkcs11:ES256:unknown',
      idTokenAud: 'someone-else',
      idTokenIss: 'https://evil.example/api/v2',
      idTokenNonce: 'n'.repeat(64),
    });
    const { idToken } = await faultyIdToken();
    expect(decodeProtectedHeader(idToken).kid).toBe('pkcs11:ES256:unknown');
    expect(decodeJwt(idToken)).toMatchObject({
      aud: 'someone-else',
      iss: 'https://evil.example/api/v2',
      nonce: 'n'.repeat(64),
    });
  });

  it('sends an ID token expired by 5 minutes', async () => {
    running.mock.faults.idTokenExpired = true;
    const { idToken } = await faultyIdToken();
    expect(decodeJwt(idToken).exp).toBe(T0 - 300);
    await expect(verifyWithJwks(idToken)).rejects.toThrow(/exp/);
  });

  it('answers userinfo with another sub, or as plain JSON', async () => {
    running.mock.faults.userinfoSub = `${'0'.repeat(64)}v1`;
    const { accessToken, idToken } = await faultyIdToken();
    const signed = await verifyWithJwks(await (await userinfoRequest(accessToken)).text());
    expect(signed.sub).toBe(`${'0'.repeat(64)}v1`);
    expect(signed.sub).not.toBe(decodeJwt(idToken).sub);

    running.mock.faults.userinfoAsJson = true;
    const json = await userinfoRequest(accessToken);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toMatchObject({ sub: `${'0'.repeat(64)}v1` });
  });

  it('is off by default', async () => {
    expect(running.mock.faults).toEqual({});
    const { idToken, nonce } = await faultyIdToken();
    expect(await verifyWithJwks(idToken)).toMatchObject({ nonce });
  });
});

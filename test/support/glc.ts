// Starts a real GLC server (real HTTP, real database) for a test file, and the helpers a
// relying party or a resident needs to drive it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { startGlc, type RunningGlc } from '../../src/server.js';
import type { ClientRegistration } from '../../src/clients/service.js';
import { Browser, decode, type Page } from './browser.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { storedKeys } from '../../src/http/throttle.js';
import { throttleKeys } from '../../src/accounts/throttle-keys.js';

export interface TestGlc extends RunningGlc {
  database: TestDatabase;
  close(): Promise<void>;
  /** Newest first. */
  mails(): { to: string; subject: string; text: string }[];
  linkInLastMail(to: string, pattern: RegExp): string;
}

export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startTestGlc(
  env: Record<string, string> = {},
  options: { logDestination?: { write(line: string): void }; firstJobRunAfterMs?: number } = {},
): Promise<TestGlc> {
  const database = await createTestDatabase();
  const port = await freePort();
  const glc = await startGlc(
    {
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: `http://localhost:${port}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...database.env,
      ...env,
    },
    options,
  );
  const mailbox = glc.services.devMailbox!;
  return {
    ...glc,
    database,
    async close() {
      await glc.stop();
      await database.drop();
    },
    mails: () => mailbox.list(),
    linkInLastMail(to, pattern) {
      const mail = mailbox.list().find((m) => m.to === to);
      if (!mail) throw new Error(`no mail to ${to}`);
      const link = mail.text.match(pattern)?.[0];
      if (!link) throw new Error(`no link ${pattern} in « ${mail.subject} »`);
      return link;
    },
  };
}

/**
 * Another instance on the same database and DATA_DIR (hence the same SECRETS_KEY) and the same
 * issuer, on its own port: what a second container behind the load balancer is.
 */
export async function startSecondInstance(
  glc: TestGlc,
  env: Record<string, string> = {},
  options: { logDestination?: { write(line: string): void } } = {},
): Promise<RunningGlc> {
  const port = await freePort();
  const other = await startGlc(
    {
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: glc.config.issuer,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...glc.database.env,
      ...env,
    },
    options,
  );
  return { ...other, url: `http://localhost:${port}` };
}

export interface TestClient {
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
  config: oidc.Configuration;
}

/** Registers a service the way an operator does, and gives it an openid-client configuration. */
export async function registerClient(glc: RunningGlc, registration: Partial<ClientRegistration> = {}): Promise<TestClient> {
  const redirectUri = registration.redirectUris?.[0] ?? 'http://127.0.0.1:9/callback';
  const { clientId, clientSecret } = await glc.services.clients.add({
    name: 'Service de test',
    organisation: 'Commune de Test',
    scope: 'openid profile email',
    redirectUris: [redirectUri],
    ...registration,
  });
  const method = registration.authMethod ?? 'client_secret_basic';
  const auth =
    method === 'client_secret_post'
      ? oidc.ClientSecretPost(clientSecret!)
      : method === 'none'
        ? oidc.None()
        : oidc.ClientSecretBasic(clientSecret!);
  const config = await oidc.discovery(new URL(glc.config.issuer), clientId, clientSecret ?? undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
  return { clientId, clientSecret, redirectUri, config };
}

export interface PendingAuthorization {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

export async function authorizationRequest(client: TestClient, params: Record<string, string> = {}): Promise<PendingAuthorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(client.config, {
    redirect_uri: client.redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url, state, nonce, verifier };
}

/** Follows the browser until it is sent back to the service's redirect URI. */
export async function followToCallback(browser: Browser, page: Page, redirectUri: string): Promise<Page> {
  return browser.follow(page, (u) => u.href.startsWith(redirectUri));
}

export function callbackUrl(page: Page): URL {
  if (!page.location) throw new Error(`expected a redirect, got ${page.status} at ${page.url}: ${page.html.slice(0, 300)}`);
  return new URL(page.location, page.url);
}

/**
 * A test file simulates many residents, all from the loopback address: the per-IP sign-up limit
 * (10 an hour, tested on its own in proxy.test.ts) must not refuse the eleventh of them.
 */
async function forgetLoopbackSignUps(glc: TestGlc): Promise<void> {
  const keys = storedKeys(glc.services.secrets, {
    failures: [],
    counters: ['127.0.0.1', '::ffff:127.0.0.1', '::1'].map(throttleKeys.signUpIp),
  });
  await glc.services.db.deleteFrom('rate_limits').where('key', 'in', keys).execute();
}

/** Sign-up through the pages of an authorization, confirm the email from the mailbox. */
export async function signUp(glc: TestGlc, browser: Browser, loginPage: Page, email: string, password: string): Promise<void> {
  const signupPage = await browser.get(new URL(/href="([^"]*\/inscription)"/.exec(loginPage.html)![1]!, loginPage.url).href);
  const done = await browser.submit(signupPage, /inscription$/, { email, password, passwordConfirmation: password });
  if (done.status !== 200) throw new Error(`sign-up refused: ${done.status}`);
  await glc.services.accounts.settled(); // the account and its mail are made after the answer
  await forgetLoopbackSignUps(glc);
  const link = glc.linkInLastMail(email, /http\S+\/inscription\/confirmer\S+/);
  const confirmed = await browser.get(decode(link));
  if (confirmed.status !== 200) throw new Error(`confirmation refused: ${confirmed.status}`);
}

/** Whole journey of a new resident: authorize → sign-up → confirm → login → consent → code. */
export async function newResidentAuthorizes(
  glc: TestGlc,
  client: TestClient,
  pending: PendingAuthorization,
  email: string,
  password = 'correct horse battery staple 42',
): Promise<{ browser: Browser; callback: URL }> {
  const browser = new Browser(glc.config.issuer);
  const login = await browser.follow(await browser.get(pending.url.href));
  await signUp(glc, browser, login, email, password);
  const again = await browser.get(login.url);
  const afterLogin = await browser.submit(again, /\/login$/, { email, password });
  let page = await browser.follow(afterLogin, (u) => u.href.startsWith(client.redirectUri));
  if (!page.location?.startsWith(client.redirectUri) && /\/consent"/.test(page.html)) {
    page = await followToCallback(browser, await browser.submit(page, /\/consent$/), client.redirectUri);
  }
  return { browser, callback: callbackUrl(page) };
}

export const STRONG_PASSWORD = 'correct horse battery staple 42';

export interface BackchannelReceiver {
  url: string;
  tokens: string[];
  /** Requests answered 503 while down. */
  refused(): number;
  up(): void;
  close(): Promise<void>;
}

/**
 * A service's back-channel logout endpoint (a real HTTP server on loopback) that keeps the logout
 * tokens it receives; started `down`, it answers 503 until `up()`.
 */
export async function startBackchannelReceiver(options: { down?: boolean } = {}): Promise<BackchannelReceiver> {
  const tokens: string[] = [];
  let refused = 0;
  let down = options.down === true;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (down) {
        refused += 1;
        res.writeHead(503).end();
        return;
      }
      const token = new URLSearchParams(body).get('logout_token');
      if (token) tokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/backchannel`,
    tokens,
    refused: () => refused,
    up: () => {
      down = false;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Waits (bounded) until `check` holds: for deliveries made by GLC's queue workers. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

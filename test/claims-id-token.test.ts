// Where a service finds the resident's data: userinfo always, the ID token only for a service
// registered with --claims-in-id-token; the consent filter applies to every channel, and the
// standard `name` claim is released when the names are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { runCli } from '../src/cli/main.js';
import {
  authorizationRequest,
  callbackUrl,
  registerClient,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import { Browser, decode, type Page } from './support/browser.js';
import { hashPassword } from '../src/accounts/passwords.js';

let glc: TestGlc;
const saved = { ...process.env };

beforeAll(async () => {
  glc = await startTestGlc();
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: glc.database.env.DATA_DIR,
    ...(glc.database.env.DATABASE_URL && { DATABASE_URL: glc.database.env.DATABASE_URL }),
  });
});
afterAll(async () => {
  process.env = saved;
  await glc?.close();
});

async function glcCommand(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(
    args,
    (t) => {
      out += t;
    },
    { services: glc.services },
  );
  return { code, out };
}

/** Ticks the optional data asked (a real multi-valued form post) and follows back to the service. */
async function consent(browser: Browser, page: Page, client: TestClient, optional: string[]): Promise<Page> {
  const form = /<form[^>]*action="([^"]*\/consent)"[^>]*>([\s\S]*?)<\/form>/.exec(page.html)!;
  const body = new URLSearchParams();
  for (const m of form[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g))
    body.append(/name="([^"]*)"/.exec(m[0])![1]!, decode(/value="([^"]*)"/.exec(m[0])?.[1] ?? ''));
  optional.forEach((o) => body.append('optional', o));
  const res = await browser.request(new URL(decode(form[1]!), page.url).href, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return browser.follow(res, (u) => u.href.startsWith(client.redirectUri));
}

const registration = {
  scope: 'openid profile email phone offline_access',
  grantTypes: ['authorization_code', 'refresh_token'] as ('authorization_code' | 'refresh_token')[],
  claimsRequired: ['given_name', 'family_name'],
  claimsOptional: ['email', 'phone_number'],
};

const SCOPE = 'openid profile email phone offline_access';

/** A resident with names signs in to the service, ticking `optional`; returns the tokens. */
async function signIn(
  client: TestClient,
  email: string,
  optional: string[],
  values: Record<string, string> = { given_name: 'Camille', family_name: 'DUBOIS' },
) {
  const account = await glc.services.accountStore.create({
    email,
    passwordHash: await hashPassword(STRONG_PASSWORD),
    emailVerifiedAt: new Date(),
  });
  await glc.services.accountStore.update(account.id, values);
  const browser = new Browser(glc.config.issuer);
  const pending = await authorizationRequest(client, { scope: SCOPE, prompt: 'consent' });
  const login = await browser.follow(await browser.get(pending.url.href));
  let page = await browser.follow(await browser.submit(login, /\/login$/, { email, password: STRONG_PASSWORD }), (u) =>
    u.href.startsWith(client.redirectUri),
  );
  if (/\/consent"/.test(page.html)) page = await consent(browser, page, client, optional);
  return oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
}

describe("where the resident's data is", () => {
  it('by default: the ID token carries sub and the login facts only, userinfo the consented data with `name`', async () => {
    const client = await registerClient(glc, { name: 'Par défaut', redirectUris: ['http://127.0.0.1:9/defaut'], ...registration });
    const tokens = await signIn(client, 'defaut@example.fr', ['email']);
    const idToken = tokens.claims()!;
    for (const absent of ['given_name', 'family_name', 'name', 'email', 'phone_number']) expect(idToken).not.toHaveProperty(absent);
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, idToken.sub);
    expect(userinfo).toMatchObject({ name: 'Camille DUBOIS', given_name: 'Camille', family_name: 'DUBOIS', email: 'defaut@example.fr' });
    expect(userinfo).not.toHaveProperty('phone_number');

    // The claims parameter may still ask for a claim in the ID token (Core §5.5), consent applied.
    const asked = await registerClient(glc, { name: 'Demande explicite', redirectUris: ['http://127.0.0.1:9/explicite'], ...registration });
    const explicit = await signInWith(asked, 'explicite@example.fr', {
      claims: JSON.stringify({ id_token: { email: null, phone_number: null } }),
    });
    expect(explicit.claims()).toMatchObject({ email: 'explicite@example.fr' });
    expect(explicit.claims()).not.toHaveProperty('phone_number');
    expect(explicit.claims()).not.toHaveProperty('given_name');
  });

  it('with --claims-in-id-token: the ID token (also after refresh) carries the consented claims and `name`, never the others', async () => {
    const client = await registerClient(glc, {
      name: 'Jeton complet',
      redirectUris: ['http://127.0.0.1:9/complet'],
      ...registration,
      claimsInIdToken: true,
    });
    const tokens = await signIn(client, 'complet@example.fr', ['email'], {
      given_name: 'Camille',
      family_name: 'DUBOIS',
      preferred_username: 'MARTIN',
      phone_number: '+33612345678',
    });
    // The usage name is not asked by this service: `name` is made of the birth name, never « MARTIN ».
    expect(tokens.claims()).toMatchObject({
      name: 'Camille DUBOIS',
      given_name: 'Camille',
      family_name: 'DUBOIS',
      email: 'complet@example.fr',
      email_verified: true,
    });
    expect(JSON.stringify(tokens.claims())).not.toContain('MARTIN');
    expect(tokens.claims()).not.toHaveProperty('phone_number'); // optional, not ticked
    const refreshed = await oidc.refreshTokenGrant(client.config, tokens.refresh_token!);
    expect(refreshed.claims()).toMatchObject({ name: 'Camille DUBOIS', email: 'complet@example.fr' });
    expect(refreshed.claims()).not.toHaveProperty('phone_number');
    const userinfo = await oidc.fetchUserInfo(client.config, refreshed.access_token, refreshed.claims()!.sub);
    expect(userinfo).not.toHaveProperty('phone_number');
  });

  it('`name` is not released when a last name is not consented', async () => {
    const client = await registerClient(glc, {
      name: 'Prénom seul',
      redirectUris: ['http://127.0.0.1:9/prenom'],
      scope: 'openid profile',
      claimsRequired: ['given_name'],
      claimsOptional: [],
      claimsInIdToken: true,
    });
    const account = await glc.services.accountStore.create({
      email: 'prenom@example.fr',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
    await glc.services.accountStore.update(account.id, { given_name: 'Camille', family_name: 'DUBOIS' });
    const tokens = await signInWith(client, 'prenom@example.fr', { scope: 'openid profile' }, false);
    expect(tokens.claims()).toMatchObject({ given_name: 'Camille' });
    expect(tokens.claims()).not.toHaveProperty('name');
    expect(tokens.claims()).not.toHaveProperty('family_name');
    expect(await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub)).not.toHaveProperty('name');
  });

  it('glc client add|update --claims-in-id-token switches the setting, shown by client show', async () => {
    const added = await glcCommand(
      'client',
      'add',
      '--name',
      'Commune',
      '--redirect-uri',
      'https://commune.example.fr/cb',
      '--scope',
      'openid profile',
      '--claims-in-id-token',
      '--json',
    );
    expect(added.code).toBe(0);
    const { client_id } = JSON.parse(added.out) as { client_id: string };
    expect(JSON.parse((await glcCommand('client', 'show', client_id, '--json')).out)).toMatchObject({ claims_in_id_token: true });
    expect((await glcCommand('client', 'update', client_id, '--no-claims-in-id-token')).code).toBe(0);
    expect((await glc.services.clientStore.find(client_id))!.claims_in_id_token).toBe(false);
    expect((await glcCommand('client', 'update', client_id, '--claims-in-id-token')).code).toBe(0);
    expect((await glcCommand('client', 'show', client_id)).out).toMatch(/claims in ID token: yes/);
  });
});

/** Like signIn, for an existing account (created in signIn or by the test) or a new one. */
async function signInWith(client: TestClient, email: string, params: Record<string, string>, create = true) {
  if (create) {
    const account = await glc.services.accountStore.create({
      email,
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
    await glc.services.accountStore.update(account.id, { given_name: 'Camille', family_name: 'DUBOIS', phone_number: '+33612345678' });
  }
  const browser = new Browser(glc.config.issuer);
  const pending = await authorizationRequest(client, { scope: SCOPE, ...params });
  const login = await browser.follow(await browser.get(pending.url.href));
  let page = await browser.follow(await browser.submit(login, /\/login$/, { email, password: STRONG_PASSWORD }), (u) =>
    u.href.startsWith(client.redirectUri),
  );
  if (/\/consent"/.test(page.html)) page = await consent(browser, page, client, ['email']);
  return oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
}

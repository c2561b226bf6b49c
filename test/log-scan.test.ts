// A whole journey with every log line captured at the most verbose level, then scanned: no
// password, token, code, secret, email address or identity value in any line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startTestGlc,
  STRONG_PASSWORD,
  type TestGlc,
} from './support/glc.js';
import { Browser, decode } from './support/browser.js';

const lines: string[] = [];
let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc(
    { LOG_LEVEL: 'trace' },
    {
      logDestination: {
        write: (l) => {
          lines.push(l);
        },
      },
    },
  );
}, 60_000);
afterAll(async () => {
  await glc?.close();
});

const EMAIL = 'anatole.quesnel@example.fr';
const NEW_PASSWORD = 'girafe tram fourvière 1789 croissant';
const IDENTITY = {
  given_name: 'Anatole',
  family_name: 'Tremblay-Quesnel',
  preferred_username: 'Zéphyrin',
  birthdate_day: '17',
  birthdate_month: '3',
  birthdate_year: '1971',
  gender: 'male',
  birthcountry: '99100',
  birthplace: '69381',
  phone_number: '06 98 76 54 32',
  address_street: '17 rue des Capucins',
  address_postal_code: '69001',
  address_locality: 'Lyon',
  address_country: '99100',
};

describe('log scan over a whole journey', () => {
  it('sign-up, login, consent, identity sheet, tokens, userinfo, refresh, reset, wrong passwords, logout: no secret or personal value in any line', async () => {
    const secrets: string[] = [EMAIL, 'anatole.quesnel', STRONG_PASSWORD, NEW_PASSWORD, 'mauvais-secret-987'];
    const client = await registerClient(glc, {
      scope: 'openid profile email phone address offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
      claimsRequired: ['given_name', 'family_name', 'email'],
      claimsOptional: ['phone_number', 'address'],
      postLogoutRedirectUris: ['http://127.0.0.1:9/after-logout'],
    });
    secrets.push(client.clientSecret!);

    // Sign-up, confirmation, login, consent.
    const pending = await authorizationRequest(client, { scope: 'openid profile email phone address offline_access', prompt: 'consent' });
    const { browser, callback } = await newResidentAuthorizes(glc, client, pending, EMAIL);
    secrets.push(pending.state, pending.nonce, pending.verifier, callback.searchParams.get('code')!);
    for (const mail of glc.mails()) for (const m of mail.text.matchAll(/jeton=([A-Za-z0-9_-]+)/g)) secrets.push(m[1]!);
    // The session and CSRF cookies are secrets (the interaction cookie is the uid in the page's URL).
    for (const name of ['glc.session', 'glc.csrf']) {
      const v = browser.cookie(name);
      if (v) secrets.push(v);
    }

    // Tokens, userinfo, refresh.
    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    secrets.push(tokens.access_token, tokens.id_token!, tokens.refresh_token!);
    const sub = tokens.claims()!.sub;
    await oidc.fetchUserInfo(client.config, tokens.access_token, sub);
    const refreshed = await oidc.refreshTokenGrant(client.config, tokens.refresh_token!);
    secrets.push(refreshed.access_token, refreshed.refresh_token!);

    // Identity sheet through the account area (same GLC session).
    const sheet = await browser.follow(await browser.get('/compte/identite'));
    const saved = await browser.submit(sheet, /\/compte\/identite$/, IDENTITY);
    expect(saved.status).toBe(303);
    secrets.push('Tremblay-Quesnel', 'Zéphyrin', '17 rue des Capucins', '0698765432', '+33698765432', '06 98 76 54 32', '1971-03-17');
    const info = await oidc.fetchUserInfo(client.config, refreshed.access_token, sub);
    expect(info.family_name).toBe('Tremblay-Quesnel');

    // Wrong passwords, a forgotten password and its link.
    const other = new Browser(glc.config.issuer);
    const login = await other.follow(await other.get((await authorizationRequest(client)).url.href));
    await other.submit(login, /\/login$/, { email: EMAIL, password: 'mauvais-secret-987' });
    const forgot = await other.get('/mot-de-passe-oublie');
    await other.submit(forgot, /mot-de-passe-oublie$/, { email: EMAIL });
    await glc.services.accounts.settled();
    const reset = decode(glc.linkInLastMail(EMAIL, /http\S+\/mot-de-passe-oublie\/nouveau\S+/));
    secrets.push(new URL(reset).searchParams.get('jeton')!);
    const resetForm = await other.get(reset);
    expect((await other.submit(resetForm, /nouveau$/, { password: NEW_PASSWORD, confirmation: NEW_PASSWORD })).status).toBeLessThan(400);

    // RP-initiated logout with the ID token.
    const end = new URL('/session/end', glc.url);
    end.search = new URLSearchParams({
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/after-logout',
      state: 'etat-de-sortie-42',
    }).toString();
    const confirm = await browser.get(end.href);
    const done = await browser.submit(confirm, /session\/end\/confirm/, { logout: 'yes' });
    expect(done.status).toBeLessThan(400);
    expect(callbackUrl(done).href).toContain('after-logout');
    secrets.push('etat-de-sortie-42');

    // The master key of this data folder, should anything ever print it.
    secrets.push(readFileSync(path.join(glc.database.env.DATA_DIR, 'secrets.key'), 'utf8').trim());

    expect(lines.length).toBeGreaterThan(30);
    for (const line of lines) {
      for (const secret of secrets) {
        if (line.includes(secret)) throw new Error(`a log line contains « ${secret.slice(0, 12)}… »: ${line.slice(0, 300)}`);
      }
      // No email address at all, nor an IP address (personal data too).
      expect(line).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z.]{2,}/);
      expect(line).not.toMatch(/\b(?:127\.0\.0\.1|::1|::ffff:)/);
      // No query string (codes, states, emails travel there).
      expect(line).not.toMatch(/"(?:path|url)":"[^"]*\?/);
    }
  }, 120_000);
});

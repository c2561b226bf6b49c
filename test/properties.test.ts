// Property-based tests (fast-check): hostile input thrown at GLC's forms, APIs and protocol
// endpoints — control characters, overlong strings, confusables, injection strings, wrong types,
// duplicate parameters. Whatever comes in: no 5xx, no stack trace, no unescaped reflection, and
// nothing written to the database when the request is refused. Runs are bounded (fast).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as oidc from 'openid-client';
import { Browser, type Page } from './support/browser.js';
import { authorizationRequest, registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';
import { createResident, residentBrowser } from './accounts-support.js';

let glc: TestGlc;
let client: TestClient;
let apiClient: TestClient;
let apiToken: string;

beforeAll(async () => {
  // Each run comes from its own address (X-Forwarded-For from one trusted proxy): the per-IP
  // limits would otherwise answer 429 to most runs and hide the paths under test.
  glc = await startTestGlc({ TRUST_PROXY_HOPS: '1' });
  client = await registerClient(glc);
  apiClient = await registerClient(glc, {
    redirectUris: ['http://127.0.0.1:9/api'],
    scope: 'openid deleted_accounts:read',
    grantTypes: ['authorization_code', 'client_credentials'],
  });
  apiToken = (await oidc.clientCredentialsGrant(apiClient.config, { scope: 'deleted_accounts:read' })).access_token;
}, 60_000);
afterAll(async () => {
  if (process.env.PROPERTY_STATUSES) process.stdout.write(`statuses: ${JSON.stringify([...statuses].sort())}\n`);
  await glc?.close();
});

// ——— Hostile strings ———
const MARKER = '<glc-x onmouseover=alert(1)>';
const control = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 8 });
const injections = fc.constantFrom(
  MARKER,
  `"${MARKER}`,
  `'><script>alert(1)</script>`,
  "' OR '1'='1' --",
  '"; drop table accounts; --',
  '{{7*7}}',
  '${7*7}',
  '<%= 7*7 %>',
  '../../../../etc/passwd',
  '%00',
  '%252e%252e%252f',
  '\r\nSet-Cookie: glc.session=x',
  'javascript:alert(1)',
  '\\u0000',
  'null',
  'undefined',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'A'.repeat(5000),
);
const confusables = fc.constantFrom(
  'аdmin@еxample.fr',
  'ｃａｍｉｌｌｅ＠ｅｘａｍｐｌｅ．ｆｒ',
  'camille\u202Erf.elpmaxe@',
  'cam\u200Bille@example.fr',
  'ÅÅÅ\u0301\u0301',
  '𝒸𝒶𝓂𝒾𝓁𝓁𝑒',
  '\uFEFF\uFFFD\uD800',
  'İstanbul',
  'ß'.repeat(40),
);
const overlong = fc.integer({ min: 1000, max: 70_000 }).map((n) => 'x'.repeat(n));
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  control.map((c) => `a${c}b`),
  injections,
  confusables,
  overlong,
);

/** A parameter list: hostile values, sometimes the same name twice (duplicate parameters). */
const params = (names: string[]) => fc.array(fc.tuple(fc.constantFrom(...names), hostile), { minLength: 1, maxLength: 6 });

const ip = fc
  .tuple(
    fc.integer({ min: 1, max: 223 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 1, max: 254 }),
  )
  .map((p) => p.join('.'));

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

/** The three promises every answer keeps. */
const statuses = new Map<number, number>();
async function checkAnswer(res: Response | Page, sent: string[]): Promise<string> {
  const body = 'html' in res ? res.html : await res.text();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  expect(res.status, body.slice(0, 300)).toBeLessThan(500);
  expect(body).not.toMatch(/\bat [\w.<>]+ \(?[^)\s]*\.(?:ts|js|mjs):\d+:\d+/); // stack frame
  expect(body).not.toContain('node_modules');
  if (sent.some((v) => v.includes('<glc-x'))) expect(body).not.toContain('<glc-x');
  if (sent.some((v) => v.includes('<script>'))) expect(body).not.toContain('<script>alert(1)</script>');
  return body;
}

function formBody(csrf: string | undefined, pairs: [string, string][]): URLSearchParams {
  const body = new URLSearchParams();
  if (csrf !== undefined) body.append('_csrf', csrf);
  for (const [k, v] of pairs) body.append(k, v);
  return body;
}

function csrfOf(page: Page, action: RegExp): { url: string; csrf: string } {
  const form = [...page.html.matchAll(/<form\b[^>]*action="([^"]*)"[\s\S]*?name="_csrf" value="([^"]*)"/g)].find((m) => action.test(m[1]!));
  if (!form) throw new Error(`no form ${action} on ${page.url}`);
  return { url: new URL(form[1]!.replace(/&amp;/g, '&'), page.url).href, csrf: form[2]! };
}

async function counts(): Promise<string> {
  const db = glc.services.db;
  const [accounts, tokens, consents] = await Promise.all([
    db.selectFrom('accounts').select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('email_tokens').select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('consents').select(db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return `${accounts.n}/${tokens.n}/${consents.n}`;
}

describe('forms of residents', () => {
  it('login and sign-up pages of an authorization', async () => {
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get((await authorizationRequest(client)).url.href));
    const signupPage = await browser.get(new URL(/href="([^"]*\/inscription)"/.exec(login.html)![1]!, login.url).href);
    const forms = [csrfOf(login, /\/login$/), csrfOf(signupPage, /\/inscription$/)];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1),
        params(['email', 'password', 'passwordConfirmation', '_csrf', 'x']),
        ip,
        async (which, pairs, from) => {
          const before = await counts();
          const res = await browser.request(forms[which]!.url, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
            body: formBody(forms[which]!.csrf, pairs),
          });
          await checkAnswer(
            res,
            pairs.map((p) => p[1]),
          );
          await glc.services.accounts.settled();
          if (res.status >= 400) expect(await counts()).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('identity sheet, forgotten password and help desk', async () => {
    const account = await createResident(glc, 'proprietes@example.fr');
    const { browser } = await residentBrowser(glc, 'proprietes@example.fr', '/compte/identite');
    const identity = csrfOf(await browser.get('/compte/identite'), /\/compte\/identite$/);
    const forgot = csrfOf(await browser.get('/mot-de-passe-oublie'), /mot-de-passe-oublie$/);
    const help = csrfOf(await browser.get('/aide/contact'), /aide\/contact/);
    const fields = [
      'given_name',
      'family_name',
      'preferred_username',
      'birthdate_day',
      'birthdate_month',
      'birthdate_year',
      'gender',
      'birthcountry',
      'birthplace',
      'phone_number',
      'address_street',
      'address_postal_code',
      'address_locality',
      'address_country',
      'email',
      'name',
      'message',
      'subject',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(identity, forgot, help), params(fields), ip, async (form, pairs, from) => {
        const before = JSON.stringify(await glc.services.accountStore.findById(account.id));
        const res = await browser.request(form.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from },
          body: formBody(form.csrf, pairs),
        });
        await checkAnswer(
          res,
          pairs.map((p) => p[1]),
        );
        await glc.services.accounts.settled();
        if (res.status >= 400) expect(JSON.stringify(await glc.services.accountStore.findById(account.id))).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('any page of GLC with a hostile query string or path segment', async () => {
    const browser = new Browser(glc.config.issuer);
    const paths = [
      '/',
      '/compte',
      '/aide',
      '/mot-de-passe-oublie',
      '/mot-de-passe-oublie/nouveau',
      '/inscription/confirmer',
      '/compte/adresse-electronique/confirmer',
      '/services/x/logo',
      '/interaction/x',
      '/docs/kit-de-raccordement',
      '/demo',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), params(['jeton', 'retour', 'email', 'q', 'x']), hostile, async (p, pairs, segment) => {
        const url = new URL(p, glc.url);
        for (const [k, v] of pairs) url.searchParams.append(k, v);
        const wellFormed = segment.slice(0, 2000).replace(/[\uD800-\uDFFF]/g, '\uFFFD'); // encodeURIComponent refuses lone surrogates
        const withSegment = new URL(`${p.replace(/\/$/, '')}/${encodeURIComponent(wellFormed)}`, glc.url);
        for (const target of [url, withSegment]) {
          if (target.href.length > 60_000) continue;
          await checkAnswer(await browser.get(target.href), [...pairs.map((x) => x[1]), segment]);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});

describe('protocol endpoints', () => {
  it('/auth with hostile parameters, duplicated or not, next to valid ones', async () => {
    const names = [
      'client_id',
      'redirect_uri',
      'response_type',
      'scope',
      'state',
      'nonce',
      'code_challenge',
      'code_challenge_method',
      'prompt',
      'max_age',
      'claims',
      'ui_locales',
      'acr_values',
      'login_hint',
      'request',
      'request_uri',
      'response_mode',
      'id_token_hint',
    ];
    await fc.assert(
      fc.asyncProperty(params(names), fc.boolean(), async (pairs, keepValid) => {
        const url = keepValid ? (await authorizationRequest(client)).url : new URL('/auth', glc.url);
        for (const [k, v] of pairs) url.searchParams.append(k, v.slice(0, 4000));
        if (url.href.length > 60_000) return;
        const before = await counts();
        await checkAnswer(
          await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } }),
          pairs.map((p) => p[1]),
        );
        expect(await counts()).toBe(before);
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);

  it('/token, introspection, revocation, userinfo and logout with hostile bodies', async () => {
    const auth = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret!)}`).toString('base64')}`;
    const names = [
      'grant_type',
      'code',
      'redirect_uri',
      'code_verifier',
      'refresh_token',
      'scope',
      'client_id',
      'client_secret',
      'token',
      'token_type_hint',
      'access_token',
      'id_token_hint',
      'post_logout_redirect_uri',
      'logout',
    ];
    const endpoints = ['/token', '/token/introspection', '/token/revocation', '/me', '/session/end', '/session/end/confirm'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...endpoints),
        params(names),
        fc.boolean(),
        fc.boolean(),
        async (endpoint, pairs, authenticated, json) => {
          const body = formBody(
            undefined,
            pairs.map(([k, v]) => [k, v.slice(0, 20_000)]),
          );
          const res = await fetch(new URL(endpoint, glc.url), {
            method: 'POST',
            redirect: 'manual',
            headers: {
              'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
              accept: 'application/json',
              ...(authenticated && { authorization: auth }),
            },
            body: json ? JSON.stringify(Object.fromEntries(pairs)) : body,
          });
          await checkAnswer(
            res,
            pairs.map((p) => p[1]),
          );
        },
      ),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);
});

describe('APIs of services', () => {
  it('/api/v1/deleted-accounts with hostile query parameters', async () => {
    await fc.assert(
      fc.asyncProperty(params(['limit', 'cursor', 'since', 'access_token', 'x']), async (pairs) => {
        const url = new URL('/api/v1/deleted-accounts', glc.url);
        for (const [k, v] of pairs) url.searchParams.append(k, v.slice(0, 4000));
        const res = await fetch(url, { headers: { authorization: `Bearer ${apiToken}` } });
        const body = await checkAnswer(
          res,
          pairs.map((p) => p[1]),
        );
        if (res.status >= 400) expect(JSON.parse(body)).toHaveProperty('error');
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);

  it('/api/v1/security-events with hostile JSON of any type', async () => {
    const value = fc.oneof(hostile, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const json = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          ack: fc.oneof(fc.array(value), value),
          setErrs: fc.oneof(fc.dictionary(hostile, fc.oneof(value, fc.record({ err: value, description: value }))), value),
          maxEvents: value,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(json, async (payload) => {
        // Never a long poll (it would wait for a SET that never comes): returnImmediately first.
        const text = (JSON.stringify(payload) ?? 'null')
          .replace(/^\{(?!\})/, '{"returnImmediately":true,')
          .replace(/^\{\}$/, '{"returnImmediately":true}');
        const res = await fetch(new URL('/api/v1/security-events', glc.url), {
          method: 'POST',
          headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
          body: text,
        });
        await checkAnswer(res, [text]);
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);
});

// Staged key rotation with two instances on one database. Each instance reloads its keys once
// per KEY_RELOAD_MS; the test plays those reloads at chosen (virtual) times, in the worst order,
// and checks at every step that no ID token is signed with a kid the OTHER instance's /jwks
// does not publish (a service may fetch the JWKS from either).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import type { RunningGlc } from '../src/server.js';
import { reloadProviderIfKeysChanged } from '../src/services.js';
import { KEY_ACTIVATION_DELAY_MS, KEY_RELOAD_MS, KEY_RETIRE_AFTER_MS } from '../src/oidc/keys.js';
import { runCli } from '../src/cli/main.js';
import type { Browser } from './support/browser.js';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startSecondInstance,
  startTestGlc,
  type TestClient,
  type TestGlc,
} from './support/glc.js';

let glc: TestGlc;
let second: RunningGlc;
let client: TestClient;
let browser: Browser;

beforeAll(async () => {
  glc = await startTestGlc();
  second = await startSecondInstance(glc);
  client = await registerClient(glc);
  ({ browser } = await newResidentAuthorizes(glc, client, await authorizationRequest(client), 'rotation@example.fr'));
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await glc?.close();
});

/** An ID token issued by the instance at `base` (the resident's session and consent already exist). */
async function idTokenKid(base: string): Promise<string> {
  const pending = await authorizationRequest(client);
  const page = await browser.follow(await browser.get(new URL(pending.url.pathname + pending.url.search, base).href), (u) =>
    u.href.startsWith(client.redirectUri),
  );
  const code = callbackUrl(page).searchParams.get('code');
  if (!code) throw new Error(`no code: ${page.location}`);
  const res = await fetch(new URL('/token', base), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await res.json()) as { id_token?: string };
  if (!body.id_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
  return decodeProtectedHeader(body.id_token).kid!;
}

async function published(base: string): Promise<string[]> {
  return ((await (await fetch(new URL('/jwks', base))).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

/** The invariant: each instance signs with a key the other publishes. Returns the kids used. */
async function checkBothWays(): Promise<{ first: string; second: string }> {
  const [kidFirst, kidSecond] = [await idTokenKid(glc.url), await idTokenKid(second.url)];
  expect(await published(second.url)).toContain(kidFirst);
  expect(await published(glc.url)).toContain(kidSecond);
  return { first: kidFirst, second: kidSecond };
}

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
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

describe('staged key rotation on two instances', () => {
  it('publishes a new key at once, signs with it only after every instance has reloaded, and keeps the old one until it may retire', async () => {
    const t0 = new Date();
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const before = await checkBothWays();

    const { kids, activatesAt } = await glc.services.keys.rotate(t0);
    expect(activatesAt.getTime() - t0.getTime()).toBeGreaterThan(KEY_RELOAD_MS);
    const newRs = kids.find((k) => k.startsWith('rs256'))!; // ID tokens are RS256 by default

    // Worst order: the instance that rotated reloads at once, the other one a whole period later.
    expect(await reloadProviderIfKeysChanged(glc.services, t0)).toBe(true);
    expect(await published(glc.url)).toEqual(expect.arrayContaining(kids));
    expect(await published(second.url)).not.toContain(newRs);
    expect(await checkBothWays()).toEqual(before); // the new key is `next`: nobody signs with it
    const listed = JSON.parse((await cli('keys', 'list', '--json')).out) as { kid: string; state: string }[];
    expect(listed.filter((k) => kids.includes(k.kid)).map((k) => k.state)).toEqual(['next', 'next']);

    expect(await reloadProviderIfKeysChanged(second.services, at(KEY_RELOAD_MS - 1))).toBe(true);
    expect(await published(second.url)).toEqual(expect.arrayContaining(kids));
    expect(await checkBothWays()).toEqual(before);

    // Activation: the first instance switches first; the other still signs with the old key,
    // which both still publish.
    expect(await reloadProviderIfKeysChanged(glc.services, at(KEY_ACTIVATION_DELAY_MS))).toBe(true);
    expect(await checkBothWays()).toEqual({ first: newRs, second: before.second });
    expect(await reloadProviderIfKeysChanged(second.services, at(KEY_ACTIVATION_DELAY_MS + KEY_RELOAD_MS - 1))).toBe(true);
    expect(await checkBothWays()).toEqual({ first: newRs, second: newRs });
    expect(await published(glc.url)).toContain(before.first); // previous: still verifies old tokens

    const states = await glc.services.keys.list(true, at(KEY_ACTIVATION_DELAY_MS));
    expect(states.find((k) => k.kid === newRs)!.state).toBe('current');
    expect(states.find((k) => k.kid === before.first)!.state).toBe('previous');

    // Retiring the previous key: not while tokens it signed may still be valid.
    await expect(glc.services.keys.retire(before.first, at(KEY_ACTIVATION_DELAY_MS + 60_000))).rejects.toThrow(/less than/);
    expect(await glc.services.keys.retire(undefined, at(KEY_ACTIVATION_DELAY_MS + 60_000))).toEqual([]);
    await expect(glc.services.keys.retire(newRs, at(KEY_ACTIVATION_DELAY_MS + KEY_RETIRE_AFTER_MS))).rejects.toThrow(/current/);
    const retired = await glc.services.keys.retire(undefined, at(KEY_ACTIVATION_DELAY_MS + KEY_RETIRE_AFTER_MS));
    expect(retired).toContain(before.first);
    await reloadProviderIfKeysChanged(glc.services, at(KEY_ACTIVATION_DELAY_MS + KEY_RETIRE_AFTER_MS));
    expect(await published(glc.url)).not.toContain(before.first);
    expect(await published(glc.url)).toContain(newRs);
  }, 120_000);

  it('refuses a rotation whose delay is shorter than two reload periods, and a retirement of a next key', async () => {
    await expect(glc.services.keys.rotate(new Date(), KEY_RELOAD_MS)).rejects.toThrow(/at least/);
    const { kids } = await glc.services.keys.rotate(new Date());
    await expect(glc.services.keys.retire(kids[0])).rejects.toThrow(/next/);
    expect((await cli('keys', 'retire', '--kid', kids[0]!)).code).toBe(1);
  });
});

// FranceConnect login seen from GLC's side, against the strict in-process mock: the authorize
// request (T1), the happy path (T2), errors (T3, T4), forged or replayed answers (T5–T7),
// lifetimes (T11) and the mock's key rotation.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Browser } from './support/browser.js';
import { startTestGlc, type TestGlc } from './support/glc.js';
import { atFranceConnect, backAtGlc, clickFranceConnect, devMock, franceConnectLogin, loginPage } from './franceconnect-helpers.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
  // « test » has an account made through FranceConnect: later logins with it are known ones.
  const { browser, page } = await franceConnectLogin(glc, 'test');
  await browser.submit(page, /\/franceconnect\/creer$/);
});
afterAll(async () => {
  await glc?.close();
});
afterEach(() => {
  const mock = devMock(glc);
  for (const k of Object.keys(mock.mock.faults)) delete (mock.mock.faults as Record<string, unknown>)[k];
  mock.clock.offsetSeconds = 0;
  vi.restoreAllMocks();
});

const hex64 = /^[0-9a-f]{64}$/;

/** Where a fresh browser lands back at GLC's callback after picking `login` at the mock. */
async function callbackFor(login: string) {
  const { browser, page } = await loginPage(glc);
  const authorize = await clickFranceConnect(browser, page);
  return { browser, authorize, callback: await atFranceConnect(browser, authorize, login) };
}

/** A rejected answer: the French page, and no GLC session in this browser. */
async function expectRejected(browser: Browser, callback: URL) {
  const page = await backAtGlc(browser, callback);
  expect(page.status).toBe(400);
  expect(page.html).toContain('n’a pas pu être vérifiée');
  const account = await browser.get('/compte');
  expect(account.location).toMatch(/^\/compte\/connexion/);
  return page;
}

describe('T1 authorization request', () => {
  it('holds only FranceConnect’s parameters, acr_values=eidas1 and fresh 64-hex state and nonce', async () => {
    const a = await loginPage(glc);
    const first = await clickFranceConnect(a.browser, a.page);
    const b = await loginPage(glc);
    const second = await clickFranceConnect(b.browser, b.page);

    expect(first.href.startsWith(`${glc.config.issuer}/franceconnect-mock/api/v2/authorize?`)).toBe(true);
    expect([...first.searchParams.keys()].sort()).toEqual([
      'acr_values',
      'client_id',
      'nonce',
      'redirect_uri',
      'response_type',
      'scope',
      'state',
    ]);
    expect(first.searchParams.get('acr_values')).toBe('eidas1');
    expect(first.searchParams.get('response_type')).toBe('code');
    expect(first.searchParams.get('scope')).toBe('openid identite_pivot email preferred_username');
    expect(first.searchParams.get('redirect_uri')).toBe(`${glc.config.issuer}/franceconnect/callback`);
    for (const url of [first, second]) {
      expect(url.searchParams.get('state')).toMatch(hex64);
      expect(url.searchParams.get('nonce')).toMatch(hex64);
    }
    expect(first.searchParams.get('state')).not.toBe(second.searchParams.get('state'));
    expect(first.searchParams.get('nonce')).not.toBe(second.searchParams.get('nonce'));
    expect(first.searchParams.get('state')).not.toBe(first.searchParams.get('nonce'));
    // Stored server-side, hashed, bound to the browser by a cookie.
    const stateHash = createHash('sha256').update(first.searchParams.get('state')!).digest('hex');
    const row = await glc.services.db
      .selectFrom('franceconnect_attempts')
      .selectAll()
      .where('state_hash', '=', stateHash)
      .executeTakeFirstOrThrow();
    expect(row.nonce).toBe(first.searchParams.get('nonce'));
    expect(a.browser.cookie('glc.fc')).toBeDefined();
  });
});

describe('T2 happy path', () => {
  it('consumes the state, exchanges with client_secret_post, checks ID token and userinfo JWS, then logs in', async () => {
    const { browser, authorize, callback } = await callbackFor('avec_nom_dusage');
    expect(callback.searchParams.get('iss')).toBe(devMock(glc).mock && `${glc.config.issuer}/franceconnect-mock/api/v2`);
    const choice = await backAtGlc(browser, callback);
    expect(choice.status).toBe(200);
    expect(choice.html).toContain('Première connexion avec FranceConnect');
    expect(choice.html).toContain('Jean MARTIN');

    const stateHash = createHash('sha256').update(authorize.searchParams.get('state')!).digest('hex');
    const row = await glc.services.db
      .selectFrom('franceconnect_attempts')
      .selectAll()
      .where('state_hash', '=', stateHash)
      .executeTakeFirstOrThrow();
    expect(row.state_used_at).not.toBeNull();

    const done = await browser.follow(await browser.submit(choice, /\/franceconnect\/creer$/), (u) => u.pathname === '/compte/callback');
    expect(done.location).toContain('/compte/callback');
    const home = await browser.follow(await browser.get(done.location!));
    expect(home.status).toBe(200);
    expect(home.url).toMatch(/\/compte$/);

    // The same answer twice: the state is single use.
    const replay = await browser.get(callback.href);
    expect(replay.status).toBe(400);
  });

  it('logs a known FranceConnect identity straight in (no choice page)', async () => {
    const { page } = await franceConnectLogin(glc, 'avec_nom_dusage');
    expect(page.location).toContain('/compte/callback');
  });
});

describe('T3 access_denied', () => {
  it('with the matching state: a friendly page offering retry and password login, logged at info only', async () => {
    const info = vi.spyOn(glc.services.log, 'info');
    const error = vi.spyOn(glc.services.log, 'error');
    const { browser, page } = await loginPage(glc);
    const uid = new URL(page.url).pathname.split('/').pop();
    const callback = await atFranceConnect(browser, await clickFranceConnect(browser, page), 'cancel');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await backAtGlc(browser, callback);
    expect(res.status).toBe(200);
    expect(res.html).toContain('Connexion avec FranceConnect annulée');
    expect(res.html).toContain(`action="/interaction/${uid}/franceconnect"`);
    expect(res.html).toContain(`href="/interaction/${uid}"`);
    expect(info.mock.calls.some(([o]) => (o as { event?: string }).event === 'franceconnect_error')).toBe(true);
    expect(error).not.toHaveBeenCalled();
    // Retry works from that page.
    const again = await browser.submit(res, /\/franceconnect$/);
    expect(again.status).toBe(303);
    expect(again.location).toContain('/franceconnect-mock/api/v2/authorize?');
  });

  it('without a matching state: the same friendly page, other options shown', async () => {
    const browser = new Browser(glc.config.issuer);
    const res = await browser.get(
      `/franceconnect/callback?error=access_denied&error_description=x&state=${randomBytes(32).toString('hex')}&iss=${encodeURIComponent(`${glc.config.issuer}/franceconnect-mock/api/v2`)}`,
    );
    expect(res.status).toBe(200);
    expect(res.html).toContain('Connexion avec FranceConnect annulée');
    expect(res.html).toContain('href="/compte"');
  });

  it('the INSEE-unknown identity (access_denied after login) lands on the same page', async () => {
    const { browser, callback } = await callbackFor('refus_insee');
    const res = await backAtGlc(browser, callback);
    expect(res.status).toBe(200);
    expect(res.html).toContain('Connexion avec FranceConnect annulée');
  });
});

describe('T4 other FranceConnect errors', () => {
  const cases = [
    ['invalid_request', 'error', 'FranceConnect n’est pas disponible pour le moment'],
    ['invalid_scope', 'error', 'FranceConnect n’est pas disponible pour le moment'],
    ['invalid_acr', 'error', 'FranceConnect n’est pas disponible pour le moment'],
    ['unsupported_response_type', 'error', 'FranceConnect n’est pas disponible pour le moment'],
    ['server_error', 'warn', 'FranceConnect est momentanément indisponible'],
    ['temporarily_unavailable', 'warn', 'FranceConnect est momentanément indisponible'],
  ] as const;
  for (const [code, level, title] of cases) {
    it(`${code}: « ${title} », logged at ${level}`, async () => {
      devMock(glc).mock.faults.authorizeError = code;
      const spies = {
        info: vi.spyOn(glc.services.log, 'info'),
        warn: vi.spyOn(glc.services.log, 'warn'),
        error: vi.spyOn(glc.services.log, 'error'),
      };
      const { browser, callback } = await callbackFor('test');
      expect(callback.searchParams.get('error')).toBe(code);
      const res = await backAtGlc(browser, callback);
      expect(res.status).toBe(503);
      expect(res.html).toContain(title);
      expect(res.html).toMatch(/href="\/interaction\/[^"]+"/); // password login offered
      const logged = (spy: (typeof spies)['info']) =>
        spy.mock.calls.some(
          ([o]) => (o as { event?: string; error?: string }).event === 'franceconnect_error' && (o as { error?: string }).error === code,
        );
      expect(logged(spies[level])).toBe(true);
      for (const other of (['info', 'warn', 'error'] as const).filter((l) => l !== level)) expect(logged(spies[other])).toBe(false);
    });
  }
});

describe('T5 forged or replayed answers', () => {
  it('refuses a state that does not match, without opening a session', async () => {
    const { browser, callback } = await callbackFor('test');
    callback.searchParams.set('state', randomBytes(32).toString('hex'));
    await expectRejected(browser, callback);
  });

  it('refuses a replayed answer and an answer carried to another browser', async () => {
    const { browser, callback } = await callbackFor('test');
    const stranger = new Browser(glc.config.issuer);
    await expectRejected(stranger, callback); // bound to the browser that started it
    const first = await backAtGlc(browser, callback);
    expect(first.location).toContain('/compte/callback');
    const replay = await browser.get(callback.href);
    expect(replay.status).toBe(400);
  });

  it('refuses an ID token whose nonce is not the stored one', async () => {
    devMock(glc).mock.faults.idTokenNonce = randomBytes(32).toString('hex');
    const { browser, callback } = await callbackFor('test');
    await expectRejected(browser, callback);
  });

  it('refuses an answer whose iss is not the configured issuer', async () => {
    const { browser, callback } = await callbackFor('test');
    callback.searchParams.set('iss', 'https://attacker.example/api/v2');
    await expectRejected(browser, callback);
  });
});

describe('T6 ID token checks', () => {
  const faults = {
    'signed HS256 with the client secret': { idTokenAlg: 'HS256' },
    'unsigned (alg none)': { idTokenAlg: 'none' },
    expired: { idTokenExpired: true },
    'for another audience': { idTokenAud: 'another-service' },
    'from another issuer': { idTokenIss: 'https://attacker.example/api/v2' },
  } as const;
  for (const [name, fault] of Object.entries(faults)) {
    it(`refuses an ID token ${name}`, async () => {
      Object.assign(devMock(glc).mock.faults, fault);
      const { browser, callback } = await callbackFor('test');
      await expectRejected(browser, callback);
    });
  }

  it('refuses an unknown kid after fetching the JWKS exactly once more', async () => {
    await franceConnectLogin(glc, 'test'); // JWKS in cache
    const stats = glc.services.franceConnect.client.stats;
    const before = stats.jwksFetches;
    devMock(glc).mock.faults.idTokenKid = 'pkcs11:ES256:unknown';
    const { browser, callback } = await callbackFor('test');
    await expectRejected(browser, callback);
    expect(stats.jwksFetches).toBe(before + 1);
  });

  it('picks up a key rotation at FranceConnect without restart (new kid → one JWKS fetch)', async () => {
    await franceConnectLogin(glc, 'test');
    const stats = glc.services.franceConnect.client.stats;
    const before = stats.jwksFetches;
    const kid = await devMock(glc).mock.rotateSigningKey();
    expect(kid).toMatch(/^pkcs11:ES256:/);
    const { page } = await franceConnectLogin(glc, 'test');
    expect(page.location).toContain('/compte/callback');
    expect(stats.jwksFetches).toBe(before + 1);
    const again = await franceConnectLogin(glc, 'test');
    expect(again.page.location).toContain('/compte/callback');
    expect(stats.jwksFetches).toBe(before + 1); // cached now
  });
});

describe('T7 userinfo', () => {
  it('refuses a userinfo sent as plain JSON', async () => {
    devMock(glc).mock.faults.userinfoAsJson = true;
    const { browser, callback } = await callbackFor('test');
    await expectRejected(browser, callback);
  });

  it('refuses a userinfo whose sub differs from the ID token’s', async () => {
    devMock(glc).mock.faults.userinfoSub = `${randomBytes(32).toString('hex')}v1`;
    const { browser, callback } = await callbackFor('test');
    await expectRejected(browser, callback);
  });
});

describe('T11 lifetimes', () => {
  it('survives FranceConnect’s clock 25 s ahead (code still valid, iat within the 30 s leeway)', async () => {
    const { browser, callback } = await callbackFor('test');
    devMock(glc).clock.offsetSeconds = 25;
    const page = await backAtGlc(browser, callback);
    expect(page.location).toContain('/compte/callback');
  });

  it('a code older than 30 s is refused by FranceConnect, and GLC shows the French page', async () => {
    const { browser, callback } = await callbackFor('test');
    devMock(glc).clock.offsetSeconds = 31;
    await expectRejected(browser, callback);
  });

  it('accepts an ID token expired by less than 30 s, refuses one expired by more', async () => {
    let run = await callbackFor('test');
    devMock(glc).clock.offsetSeconds = -(60 + 25); // exp = now − 25 s
    expect((await backAtGlc(run.browser, run.callback)).location).toContain('/compte/callback');
    devMock(glc).clock.offsetSeconds = 0;
    run = await callbackFor('test');
    devMock(glc).clock.offsetSeconds = -(60 + 35); // exp = now − 35 s
    await expectRejected(run.browser, run.callback);
  });
});

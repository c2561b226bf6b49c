// FranceConnect login seen from GLC's side, against the strict in-process mock: the authorize
// request (T1), the happy path (T2), errors (T3, T4), forged or replayed answers (T5–T7),
// lifetimes (T11) and the mock's key rotation.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestGlc, type TestGlc } from './support/glc.js';
import { accountIdOfSub, atFranceConnect, backAtGlc, clickFranceConnect, devMock, franceConnectLogin, loginPage } from './franceconnect-helpers.js';

let glc: TestGlc;
beforeAll(async () => { glc = await startTestGlc(); });
afterAll(async () => { await glc?.close(); });
afterEach(() => {
  const mock = glc && devMock(glc);
  if (mock) { for (const k of Object.keys(mock.mock.faults)) delete (mock.mock.faults as Record<string, unknown>)[k]; mock.clock.offsetSeconds = 0; }
  vi.restoreAllMocks();
});

describe('T2 happy path', () => {
  it('creates an account from the FranceConnect identity and finishes the authorization', async () => {
    const { browser, page } = await franceConnectLogin(glc, 'test');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Première connexion avec FranceConnect');
    const done = await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.pathname === '/compte/callback');
    expect(done.location).toContain('/compte/callback');
  });
});

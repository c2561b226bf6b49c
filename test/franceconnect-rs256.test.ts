// FC_ID_TOKEN_ALG=RS256: GLC accepts RS256 ID tokens and userinfo from FranceConnect (the mock
// signs with the configured algorithm), and only that algorithm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { startTestGlc, type TestGlc } from './support/glc.js';
import { devMock, franceConnectLogin } from './franceconnect-helpers.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc({ FC_ID_TOKEN_ALG: 'RS256' });
});
afterAll(async () => {
  await glc?.close();
});

describe('FranceConnect with RS256', () => {
  it('logs in with RS256-signed ID token and userinfo, and keeps the raw ID token for logout', async () => {
    const meta = await glc.services.franceConnect.client.discover();
    expect(meta.issuer).toBe(`${glc.config.issuer}/franceconnect-mock/api/v2`);
    const { browser, page } = await franceConnectLogin(glc, 'naissance_algerie');
    const done = await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.pathname === '/compte/callback');
    expect(done.location).toContain('/compte/callback');
    const row = await glc.services.db.selectFrom('franceconnect_sessions').select('id_token_encrypted').executeTakeFirstOrThrow();
    const idToken = glc.services.secrets.decrypt(row.id_token_encrypted);
    expect(decodeProtectedHeader(idToken).alg).toBe('RS256');
    expect(row.id_token_encrypted).not.toContain(idToken.split('.')[1]!); // encrypted at rest
  });

  it('refuses any other algorithm than the configured one (HS256 here)', async () => {
    devMock(glc).mock.faults.idTokenAlg = 'HS256';
    try {
      const { page } = await franceConnectLogin(glc, 'naissance_algerie');
      expect(page.status).toBe(400);
    } finally {
      delete devMock(glc).mock.faults.idTokenAlg;
    }
  });
});

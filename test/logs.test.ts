// Operators get one structured JSON line per request with a request id, and nothing personal:
// no email, password, token, code or query string, even through a whole login journey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { authorizationRequest, newResidentAuthorizes, registerClient, startTestGlc, STRONG_PASSWORD, type TestGlc } from './support/glc.js';
import { Browser } from './support/browser.js';

const lines: string[] = [];
let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc(
    { LOG_LEVEL: 'debug' },
    {
      logDestination: {
        write: (l) => {
          lines.push(l);
        },
      },
    },
  );
});
afterAll(async () => {
  await glc?.close();
});

describe('logs', () => {
  it('are JSON lines with a request id and carry no personal data or secret', async () => {
    const client = await registerClient(glc);
    const pending = await authorizationRequest(client);
    const { callback } = await newResidentAuthorizes(glc, client, pending, 'journal.prive@example.fr');
    const tokens = await oidc.authorizationCodeGrant(client.config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub);
    // A failed login and an unknown page too.
    const b = new Browser(glc.config.issuer);
    const login = await b.follow(await b.get((await authorizationRequest(client)).url.href));
    await b.submit(login, /\/login$/, { email: 'journal.prive@example.fr', password: 'mauvais-secret-123' });
    await b.get('/nexiste-pas?email=journal.prive@example.fr');

    expect(lines.length).toBeGreaterThan(10);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.every((e) => typeof e.requestId === 'string' && typeof e.status === 'number')).toBe(true);
    const all = lines.join('\n');
    for (const secret of [
      'journal.prive',
      STRONG_PASSWORD,
      'mauvais-secret-123',
      tokens.access_token,
      tokens.id_token!,
      callback.searchParams.get('code')!,
      client.clientSecret!,
      pending.state,
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it('mask the names of secrets a caller would pass by mistake, though the access line skips that step', async () => {
    lines.length = 0;
    glc.services.log.warn({ email: 'par.erreur@example.fr', detail: { password: 'fuite-123', token: 'jeton-456' } }, 'careless');
    await fetch(`${glc.config.issuer}/.well-known/openid-configuration`);
    const careless = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'careless')!;
    expect(careless).toMatchObject({ email: '[masqué]', detail: { password: '[masqué]', token: '[masqué]' } });
    // The access line (src/http/middleware.ts, without redaction): its fixed fields, nothing more.
    const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'request')!;
    expect(Object.keys(access).sort()).toEqual(['level', 'method', 'ms', 'msg', 'path', 'requestId', 'service', 'status', 'time']);
  });
});

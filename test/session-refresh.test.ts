// The library saves the session on every authorization to slide its 14-day expiry; GLC skips
// that write when nothing else changed and the session was saved less than an hour ago
// (src/oidc/adapter.ts, isOnlyAnEarlyExtension): one round trip less per authorization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { isOnlyAnEarlyExtension } from '../src/oidc/adapter.js';
import { authorizationRequest, callbackUrl, newResidentAuthorizes, registerClient, startTestGlc, type TestGlc } from './support/glc.js';

describe('which session saves are skipped', () => {
  const stored = { accountId: 'a', authorizations: { c: { sid: 's', grantId: 'g' } }, exp: 1_000_000, jti: 'j', uid: 'u' };
  it('skips an extension of less than an hour of the same session, whatever the order of its members', () => {
    expect(
      isOnlyAnEarlyExtension(stored, {
        uid: 'u',
        jti: 'j',
        exp: 1_000_600,
        transient: undefined,
        accountId: 'a',
        authorizations: { c: { grantId: 'g', sid: 's' } },
      }),
    ).toBe(true);
  });
  it('writes a later extension, any other change, and a session it did not read', () => {
    expect(isOnlyAnEarlyExtension(stored, { ...stored, exp: 1_003_600 })).toBe(false);
    expect(isOnlyAnEarlyExtension(stored, { ...stored, exp: 999_000 })).toBe(false);
    expect(
      isOnlyAnEarlyExtension(stored, { ...stored, exp: 1_000_600, authorizations: { ...stored.authorizations, d: { sid: 't' } } }),
    ).toBe(false);
    expect(isOnlyAnEarlyExtension(stored, { ...stored, exp: 1_000_600, accountId: 'b' })).toBe(false);
    expect(isOnlyAnEarlyExtension(undefined, stored)).toBe(false);
  });
});

describe('session saved by an authorization', () => {
  let glc: TestGlc;
  beforeAll(async () => {
    glc = await startTestGlc();
  });
  afterAll(async () => {
    await glc?.close();
  });

  it('is not rewritten within the hour, is extended after it, and any change is written at once', async () => {
    const first = await registerClient(glc);
    const { browser } = await newResidentAuthorizes(glc, first, await authorizationRequest(first), 'session@example.fr');
    const db = glc.services.db;
    const session = async () => {
      const row = await db
        .selectFrom('oidc_payloads')
        .select(['id', 'payload', 'expires_at'])
        .where('model', '=', 'Session')
        .where(sql<boolean>`payload->>'accountId' is not null`)
        .executeTakeFirstOrThrow();
      return {
        id: row.id,
        payload: row.payload as { exp: number; authorizations: Record<string, unknown> },
        expiresAt: row.expires_at!.getTime(),
      };
    };
    const authorize = async (client: typeof first) => {
      const page = await browser.follow(await browser.get((await authorizationRequest(client)).url.href), (u) =>
        u.href.startsWith(client.redirectUri),
      );
      if (/\/consent"/.test(page.html)) {
        return callbackUrl(await browser.follow(await browser.submit(page, /\/consent$/), (u) => u.href.startsWith(client.redirectUri)));
      }
      return callbackUrl(page);
    };

    const saved = await session();
    expect((await authorize(first)).searchParams.get('code')).toBeTruthy();
    expect(await session()).toEqual(saved);

    // Saved two hours ago: this authorization extends it again.
    const twoHoursEarlier = { ...saved.payload, exp: saved.payload.exp - 7200 };
    await db
      .updateTable('oidc_payloads')
      .set({ payload: JSON.stringify(twoHoursEarlier), expires_at: new Date(saved.expiresAt - 7_200_000) })
      .where('model', '=', 'Session')
      .where('id', '=', saved.id)
      .execute();
    expect((await authorize(first)).searchParams.get('code')).toBeTruthy();
    const extended = await session();
    expect(extended.payload.exp).toBeGreaterThanOrEqual(saved.payload.exp);
    expect(extended.expiresAt).toBeGreaterThanOrEqual(saved.expiresAt - 1000);

    // A second service joins the session: written at once, within the hour.
    const second = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/second'] });
    expect((await authorize(second)).searchParams.get('code')).toBeTruthy();
    expect(Object.keys((await session()).payload.authorizations).sort()).toEqual([first.clientId, second.clientId].sort());
  });
});

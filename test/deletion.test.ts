// The one account-deletion routine: everything of the account goes in one transaction, the
// services that knew it get a record with the sub they knew, sessions end with back-channel
// logout, the resident gets a notice; activity of the account is recorded as services use it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { sql } from 'kysely';
import type { Browser } from './support/browser.js';
import {
  authorizationRequest,
  followToCallback,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startTestGlc,
  eventually,
  type TestClient,
  type TestGlc,
} from './support/glc.js';

let glc: TestGlc;
let rp: http.Server;
const logoutTokens: string[] = [];

beforeAll(async () => {
  glc = await startTestGlc();
  rp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => rp?.close(r));
  await glc?.close();
});

async function exchange(client: TestClient, pending: Awaited<ReturnType<typeof authorizationRequest>>, callback: URL) {
  return oidc.authorizationCodeGrant(client.config, callback, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
}

/** A resident already signed in to GLC authorizes another service (session reuse, consent if asked). */
async function authorizeWithSession(browser: Browser, client: TestClient, params: Record<string, string> = {}) {
  const pending = await authorizationRequest(client, params);
  let page = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
  if (!page.location?.startsWith(client.redirectUri) && /\/consent"/.test(page.html)) {
    page = await followToCallback(browser, await browser.submit(page, /\/consent$/), client.redirectUri);
  }
  return exchange(client, pending, callbackUrl(page));
}

/** Tables (and rows) that still mention one of the values, the deletion records aside. */
async function rowsMentioning(values: string[]): Promise<string[]> {
  const tables = await sql<{
    table_name: string;
  }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(glc.services.db);
  const found: string[] = [];
  for (const { table_name } of tables.rows) {
    if (table_name === 'deleted_accounts') continue;
    for (const v of values) {
      const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)} t where t::text ilike ${`%${v}%`}`.execute(
        glc.services.db,
      );
      if (r.rows[0]!.n > 0) found.push(`${table_name} (${r.rows[0]!.n})`);
    }
  }
  return found;
}

describe('deleteAccount', () => {
  it('deletes every row of the resident, records the exact sub for each service that knew the account, logs out and tells the resident', async () => {
    const port = (rp.address() as AddressInfo).port;
    const pairwise = await registerClient(glc, {
      redirectUris: ['http://127.0.0.1:9/a'],
      backchannelLogoutUri: `http://127.0.0.1:${port}/bcl`,
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const pub = await registerClient(glc, { redirectUris: ['http://localhost:9/b'], subjectType: 'public' });
    const unused = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/c'] });
    const email = 'suppression@example.fr';

    const pendingA = await authorizationRequest(pairwise, { scope: 'openid profile email offline_access', prompt: 'consent' });
    const { browser, callback } = await newResidentAuthorizes(glc, pairwise, pendingA, email);
    const tokensA = await exchange(pairwise, pendingA, callback);
    const tokensB = await authorizeWithSession(browser, pub);
    const account = (await glc.services.accountStore.findByEmail(email))!;
    const subA = tokensA.claims()!.sub;
    expect(subA).toMatch(/^[0-9a-f]{64}$/);
    expect(tokensB.claims()!.sub).toBe(account.id);
    // Another resident of the same services is not affected.
    const other = await newResidentAuthorizes(glc, pairwise, await authorizationRequest(pairwise), 'voisin@example.fr');
    const otherAccount = (await glc.services.accountStore.findByEmail('voisin@example.fr'))!;
    expect(other.callback.searchParams.get('code')).toBeTruthy();

    const before = await glc.services.db
      .selectFrom('deleted_accounts')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirst();
    const now = new Date();
    const result = await glc.services.deletion.deleteAccount(account.id, 'user_request', now);
    expect(result).toEqual({ deleted: true, records: 2 });

    const records = await glc.services.db
      .selectFrom('deleted_accounts')
      .selectAll()
      .where('id', '>', Number(before?.max ?? 0))
      .orderBy('client_id')
      .execute();
    expect(
      records
        .map((r) => ({ client: r.client_id, sub: r.sub, reason: r.reason, at: r.deleted_at.toISOString() }))
        .sort((x, y) => x.client.localeCompare(y.client)),
    ).toEqual(
      [
        { client: pairwise.clientId, sub: subA, reason: 'user_request', at: now.toISOString() },
        { client: pub.clientId, sub: account.id, reason: 'user_request', at: now.toISOString() },
      ].sort((x, y) => x.client.localeCompare(y.client)),
    );
    expect(records.some((r) => r.client_id === unused.clientId || r.client_id === 'glc-compte')).toBe(false);

    // Nothing of the resident is left anywhere but in the deletion records.
    expect(await rowsMentioning([account.id, email, subA])).toEqual([]);
    expect(await glc.services.accountStore.findById(otherAccount.id)).toBeTruthy();

    // Tokens stopped working at once.
    expect((await fetch(`${glc.config.issuer}/me`, { headers: { authorization: `Bearer ${tokensA.access_token}` } })).status).toBe(401);
    await expect(oidc.refreshTokenGrant(pairwise.config, tokensA.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // The service with a back-channel logout URI was told (by the queue's worker), with the sub it knows.
    await eventually(() => logoutTokens.length > 0);
    await new Promise((r) => setTimeout(r, 1500)); // and only once
    expect(logoutTokens).toHaveLength(1);
    const { payload } = await jose.jwtVerify(logoutTokens[0]!, jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
      issuer: glc.config.issuer,
      audience: pairwise.clientId,
    });
    expect(payload.sub).toBe(subA);
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });

    // The browser's GLC session is gone too.
    const again = await browser.follow(await browser.get((await authorizationRequest(pub)).url.href));
    expect(again.html).toContain('name="password"');

    const notice = glc.mails().find((m) => m.to === email)!;
    expect(notice.subject).toBe('Votre compte GrandLyon Connect a été supprimé');
    expect(notice.text).toContain('Comme vous l’avez demandé');

    // Idempotent: deleting again (or an unknown id) changes nothing.
    expect(await glc.services.deletion.deleteAccount(account.id, 'user_request', new Date())).toEqual({ deleted: false, records: 0 });
    expect(await glc.services.deletion.deleteAccount('not-a-uuid', 'operator', new Date())).toEqual({ deleted: false, records: 0 });
    const after = await glc.services.db
      .selectFrom('deleted_accounts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', '>', Number(before?.max ?? 0))
      .executeTakeFirst();
    expect(Number(after!.n)).toBe(2);
  });

  it('counts a service that holds a consent (grant) even when its sub was not recorded yet', async () => {
    const client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/d'] });
    const pending = await authorizationRequest(client);
    const { callback } = await newResidentAuthorizes(glc, client, pending, 'grant@example.fr');
    const tokens = await exchange(client, pending, callback);
    const account = (await glc.services.accountStore.findByEmail('grant@example.fr'))!;
    // As if the service had got the consent before subjects were recorded.
    await glc.services.db.deleteFrom('account_subjects').where('account_id', '=', account.id).execute();
    await glc.services.deletion.deleteAccount(account.id, 'operator', new Date());
    const record = await glc.services.db
      .selectFrom('deleted_accounts')
      .selectAll()
      .where('client_id', '=', client.clientId)
      .executeTakeFirstOrThrow();
    expect(record).toMatchObject({ sub: tokens.claims()!.sub, reason: 'operator' });
    expect(glc.mails().find((m) => m.to === 'grant@example.fr')!.text).toContain('l’équipe GrandLyon Connect a supprimé votre compte');
  });

  it('runs the other domains’ cleanups inside the deleting transaction: a failure undoes all of them', async () => {
    const account = await glc.services.accountStore.create({
      email: 'cleanup@example.fr',
      passwordHash: null,
      emailVerifiedAt: new Date(),
    });
    const client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/cleanup'] });
    // A consent record (consent domain) and a throttling counter (accounts domain) of the account.
    await glc.services.db
      .insertInto('consents')
      .values({
        account_id: account.id,
        client_id: client.clientId,
        claims: [],
        declined: [],
        scopes: ['openid'],
        request_version: 1,
        method: 'web_form',
        status: 'active',
        granted_at: new Date(),
        updated_at: new Date(),
        expires_at: new Date(Date.now() + 86_400_000),
        purpose: null,
        last_used_at: null,
        ended_at: null,
        grant_id: null,
      })
      .execute();
    await glc.services.throttle.recordFailure([`password:${account.id}`], new Date());
    const counters = () => glc.services.db.selectFrom('rate_limits').select('key').execute();
    const before = (await counters()).length;
    const consents = () => glc.services.db.selectFrom('consents').select('client_id').where('account_id', '=', account.id).execute();
    expect(await consents()).toHaveLength(1);

    // The last statement of the transaction fails: everything the cleanups did is undone.
    await sql`create function glc_test_fail() returns trigger language plpgsql as $$ begin raise exception 'fail'; end $$`.execute(
      glc.services.db,
    );
    await sql`create trigger glc_test_fail before delete on accounts for each row execute function glc_test_fail()`.execute(
      glc.services.db,
    );
    await expect(glc.services.deletion.deleteAccount(account.id, 'user_request', new Date())).rejects.toThrow();
    await sql`drop trigger glc_test_fail on accounts`.execute(glc.services.db);
    await sql`drop function glc_test_fail()`.execute(glc.services.db);
    expect(await glc.services.accountStore.findById(account.id)).toBeTruthy();
    expect(await consents()).toHaveLength(1);
    expect(await counters()).toHaveLength(before);

    expect((await glc.services.deletion.deleteAccount(account.id, 'user_request', new Date())).deleted).toBe(true);
    expect(await consents()).toHaveLength(0);
    expect(await counters()).toHaveLength(before - 1);
  });
});

describe('activity', () => {
  it('is recorded when a service reuses the GLC session and when a refresh token is used', async () => {
    const first = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/e'] });
    const second = await registerClient(glc, {
      redirectUris: ['http://127.0.0.1:9/f'],
      scope: 'openid offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const pending = await authorizationRequest(first);
    const { browser, callback } = await newResidentAuthorizes(glc, first, pending, 'actif@example.fr');
    await exchange(first, pending, callback);
    const account = (await glc.services.accountStore.findByEmail('actif@example.fr'))!;
    // As if `hours` had passed since the last recorded activity (in the database and in this process).
    const setBack = async (hours: number) => {
      await glc.services.db
        .updateTable('accounts')
        .set({ last_activity_at: new Date(Date.now() - hours * 3600_000) })
        .where('id', '=', account.id)
        .execute();
      if (hours >= 1) glc.services.accountStore.forgetRecordedActivity(account.id);
    };
    const lastActivity = async () => (await glc.services.accountStore.findById(account.id))!.last_activity_at.getTime();

    const recent = async () => {
      // The provider records activity right after answering: wait for that write (bounded).
      for (let i = 0; i < 100 && Date.now() - (await lastActivity()) > 3600_000; i++) await new Promise((r) => setTimeout(r, 20));
      return Date.now() - (await lastActivity()) < 3600_000;
    };

    // Session reuse: the authorization alone (no code exchanged yet) counts.
    await setBack(5);
    const pending2 = await authorizationRequest(second, { scope: 'openid offline_access', prompt: 'consent' });
    let page = await browser.follow(await browser.get(pending2.url.href), (u) => u.href.startsWith(second.redirectUri));
    if (!page.location?.startsWith(second.redirectUri) && /\/consent"/.test(page.html)) {
      page = await followToCallback(browser, await browser.submit(page, /\/consent$/), second.redirectUri);
    }
    expect(await recent()).toBe(true);
    const tokens = await exchange(second, pending2, callbackUrl(page));

    await setBack(5);
    await oidc.refreshTokenGrant(second.config, tokens.refresh_token!);
    expect(await recent()).toBe(true);

    // At most one write per hour: a use 30 minutes after the last one does not write.
    await setBack(0.5);
    const before = await lastActivity();
    await authorizeWithSession(browser, first);
    expect(await lastActivity()).toBe(before);
  });
});

// Anonymous usage statistics (issue 14) over real HTTP and PostgreSQL: real password and
// FranceConnect-mock logins, a consent refusal, deletions and the purge of old aggregates move
// exactly the daily counters they should, and no statistics table can hold anything personal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import * as oidc from 'openid-client';
import { Browser, decode } from './support/browser.js';
import {
  authorizationRequest,
  newResidentAuthorizes,
  registerClient,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import { createResident } from './accounts-support.js';
import { franceConnectLogin } from './franceconnect-helpers.js';
import { ACCOUNT_CLIENT_ID } from '../src/accounts/account-client.js';
import { dayOf } from '../src/statistics/service.js';

let glc: TestGlc;
let client: TestClient;

/** The counters of today, as { 'client|kind|detail': count }. */
async function today(): Promise<Record<string, number>> {
  const d = dayOf(new Date());
  const rows = await glc.services.statistics.rows(d, d);
  return Object.fromEntries(rows.map((r) => [`${r.client_id ?? '-'}|${r.kind}|${r.detail}`, r.count]));
}

/** The change of today's counters made by `work` (only the keys that moved). */
async function delta(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await today();
  await work();
  const after = await today();
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
}

beforeAll(async () => {
  glc = await startTestGlc();
  client = await registerClient(glc, { name: 'Médiathèque', redirectUris: ['http://127.0.0.1:9/mediatheque'] });
});
afterAll(() => glc?.close());

describe('statistics tables', () => {
  it('have no column that could hold an account id, an email, an IP or a time finer than a day', async () => {
    const columns = await sql<{ table_name: string; column_name: string; data_type: string }>`
      select table_name, column_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name like 'statistics%' order by table_name, ordinal_position`.execute(
      glc.services.db,
    );
    expect(columns.rows.map((c) => `${c.table_name}.${c.column_name}:${c.data_type}`)).toEqual([
      'statistics_daily.day:date',
      'statistics_daily.client_id:text',
      'statistics_daily.kind:text',
      'statistics_daily.detail:text',
      'statistics_daily.count:bigint',
    ]);
    for (const c of columns.rows) {
      expect(c.column_name).not.toMatch(/account|user|email|mail|ip|agent|sub|session|_at$|time/);
      expect(c.data_type).not.toMatch(/timestamp|time|uuid|inet|cidr/);
    }
  });
});

describe('counting in real flows', () => {
  it('a new resident: sign-up started and confirmed, consent shown and accepted, one password login', async () => {
    const moved = await delta(async () => {
      const pending = await authorizationRequest(client);
      await newResidentAuthorizes(glc, client, pending, 'sophie.martin@example.fr');
    });
    expect(moved).toEqual({
      [`${client.clientId}|signup|started`]: 1,
      '-|signup|confirmed': 1,
      [`${client.clientId}|login|password`]: 1,
      [`${client.clientId}|consent|shown`]: 1,
      [`${client.clientId}|consent|accepted`]: 1,
    });
  });

  it('a wrong password and an unverified account count as failures by kind, at their service', async () => {
    await createResident(glc, 'bruno.leroy@example.fr');
    const moved = await delta(async () => {
      const browser = new Browser(glc.config.issuer);
      const login = await browser.follow(await browser.get((await authorizationRequest(client)).url.href));
      const wrong = await browser.submit(login, /\/login$/, { email: 'bruno.leroy@example.fr', password: 'pas le bon mot de passe' });
      expect(wrong.status).toBe(401);
      await glc.services.accounts.signUp(
        { email: 'non.confirme@example.fr', password: STRONG_PASSWORD, passwordConfirmation: STRONG_PASSWORD, ip: '192.0.2.7' },
        new Date(),
      );
      await glc.services.accounts.settled();
      const unverified = await browser.submit(login, /\/login$/, { email: 'non.confirme@example.fr', password: STRONG_PASSWORD });
      expect(unverified.status).toBe(401);
    });
    expect(moved).toEqual({
      [`${client.clientId}|login_failed|invalid`]: 1,
      [`${client.clientId}|login_failed|unverified`]: 1,
    });
  });

  it('three refusals at the consent screen: shown 3, refused 3, nothing accepted', async () => {
    const piscine = await registerClient(glc, { name: 'Piscine', redirectUris: ['http://127.0.0.1:9/piscine'] });
    const moved = await delta(async () => {
      for (const email of ['r1@example.fr', 'r2@example.fr', 'r3@example.fr']) {
        await createResident(glc, email);
        const browser = new Browser(glc.config.issuer);
        const login = await browser.follow(await browser.get((await authorizationRequest(piscine)).url.href));
        const consent = await browser.follow(await browser.submit(login, /\/login$/, { email, password: STRONG_PASSWORD }));
        expect(consent.html).toContain('/consent');
        const back = await browser.follow(await browser.submit(consent, /\/abort$/), (u) => u.href.startsWith(piscine.redirectUri));
        expect(back.location).toContain('error=access_denied');
      }
    });
    expect(moved).toEqual({
      [`${piscine.clientId}|login|password`]: 3,
      [`${piscine.clientId}|consent|shown`]: 3,
      [`${piscine.clientId}|consent|refused`]: 3,
    });
  });

  it('FranceConnect: an account created through the mock, then a known login', async () => {
    const first = await delta(async () => {
      const { browser, page } = await franceConnectLogin(glc, 'test');
      await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.pathname === '/compte/callback');
    });
    expect(first).toEqual({
      [`${ACCOUNT_CLIENT_ID}|signup|franceconnect`]: 1,
      [`${ACCOUNT_CLIENT_ID}|login|franceconnect`]: 1,
    });
    const second = await delta(() => franceConnectLogin(glc, 'test'));
    expect(second).toEqual({ [`${ACCOUNT_CLIENT_ID}|login|franceconnect`]: 1 });
  });

  it('deletions count by cause, in the deleting transaction, with no trace of whom', async () => {
    const a = await createResident(glc, 'efface.par.agent@example.fr');
    const b = await createResident(glc, 'efface.soi@example.fr');
    const moved = await delta(async () => {
      await glc.services.deletion.deleteAccount(a.id, 'operator', new Date());
      await glc.services.deletion.deleteAccount(b.id, 'user_request', new Date());
      // Already gone: nothing deleted, nothing counted.
      await glc.services.deletion.deleteAccount(b.id, 'user_request', new Date());
    });
    expect(moved).toEqual({ '-|deletion|staff': 1, '-|deletion|self': 1 });
  });

  it('the inactivity purge counts its deletions as « inactivity », and its warnings', async () => {
    const old = await createResident(glc, 'inactif@example.fr');
    await glc.services.db
      .updateTable('accounts')
      .set({ last_activity_at: new Date(Date.now() - (glc.config.inactivity.deleteAfterDays + 2) * 86_400_000) })
      .where('id', '=', old.id)
      .execute();
    // And one in the 30-day warning window: warned, not deleted.
    const soon = await createResident(glc, 'bientot.inactif@example.fr');
    await glc.services.db
      .updateTable('accounts')
      .set({ last_activity_at: new Date(Date.now() - (glc.config.inactivity.deleteAfterDays - 20) * 86_400_000) })
      .where('id', '=', soon.id)
      .execute();
    const moved = await delta(() => glc.services.deletion.runPurge(new Date()));
    expect(moved).toEqual({ '-|deletion|inactivity': 1, '-|inactivity_warning|': 1 });
  });

  it('optional data ticked at the consent screen count per data item; a deleted-accounts poll counts per service', async () => {
    const commune = await registerClient(glc, {
      name: 'Crèches',
      redirectUris: ['http://127.0.0.1:9/creches'],
      scope: 'openid profile deleted_accounts:read',
      grantTypes: ['authorization_code', 'client_credentials'],
      claimsRequired: ['given_name'],
      claimsOptional: ['family_name', 'birthdate'],
    });
    await createResident(glc, 'optionnel@example.fr', { given_name: 'Lina', family_name: 'BOREL', birthdate: '1990-01-02' });
    const moved = await delta(async () => {
      const browser = new Browser(glc.config.issuer);
      const login = await browser.follow(await browser.get((await authorizationRequest(commune, { scope: 'openid profile' })).url.href));
      const consent = await browser.follow(
        await browser.submit(login, /\/login$/, { email: 'optionnel@example.fr', password: STRONG_PASSWORD }),
      );
      const form = /<form[^>]*action="([^"]*\/consent)"[^>]*>([\s\S]*?)<\/form>/.exec(consent.html)!;
      const body = new URLSearchParams();
      for (const m of form[2]!.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g))
        body.append(/name="([^"]*)"/.exec(m[0])![1]!, decode(/value="([^"]*)"/.exec(m[0])?.[1] ?? ''));
      body.append('optional', 'family_name');
      const res = await browser.request(new URL(decode(form[1]!), consent.url).href, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const back = await browser.follow(res, (u) => u.href.startsWith(commune.redirectUri));
      expect(back.location).toContain('code=');
      const token = (await oidc.clientCredentialsGrant(commune.config, { scope: 'deleted_accounts:read' })).access_token;
      const poll = await fetch(`${glc.config.issuer}/api/v1/deleted-accounts`, { headers: { authorization: `Bearer ${token}` } });
      expect(poll.status).toBe(200);
    });
    expect(moved).toEqual({
      [`${commune.clientId}|login|password`]: 1,
      [`${commune.clientId}|consent|shown`]: 1,
      [`${commune.clientId}|consent|accepted`]: 1,
      [`${commune.clientId}|consent_optional|family_name`]: 1,
      [`${commune.clientId}|api_poll|deleted_accounts`]: 1,
    });
  });

  it('parallel increments of one counter all add up (one upsert, no lost update)', async () => {
    const piscine = await registerClient(glc, { name: 'Parallèle', redirectUris: ['http://127.0.0.1:9/parallele'] });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        glc.services.statistics.count({ kind: 'api_poll', clientId: piscine.clientId, detail: 'security_events' }, new Date()),
      ),
    );
    expect((await today())[`${piscine.clientId}|api_poll|security_events`]).toBe(20);
  });

  it('aggregates older than the retention period are purged; recent ones stay', async () => {
    const retention = glc.config.statistics.retentionDays;
    const old = dayOf(new Date(Date.now() - (retention + 3) * 86_400_000));
    await glc.services.db
      .insertInto('statistics_daily')
      .values({ day: old, client_id: null, kind: 'login', detail: 'password', count: 5 })
      .execute();
    const removed = await glc.services.statistics.purge(new Date());
    expect(removed).toBe(1);
    expect(await glc.services.statistics.rows(old, old)).toEqual([]);
    expect(Object.keys(await today()).length).toBeGreaterThan(0);
  });

  it('active and certified accounts are computed from the account data', async () => {
    const figures = await glc.services.statistics.accountFigures(new Date());
    const certified = await glc.services.db
      .selectFrom('franceconnect_certified_fields')
      .select(sql<string>`count(distinct account_id)`.as('n'))
      .executeTakeFirstOrThrow();
    expect(figures.certified).toBe(Number(certified.n));
    expect(figures.certified).toBeGreaterThanOrEqual(1); // the FranceConnect account above
    expect(figures.active30).toBeGreaterThanOrEqual(5);
    expect(figures.active365).toBeGreaterThanOrEqual(figures.active30);
  });
});

// Database round trips of the hot paths are a budget: each one costs a network exchange and
// PostgreSQL time on every login, token and userinfo call. bench/queries.ts counts them on a real
// GLC; this test holds the counts, so that an added lookup is a decision, not an accident.
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { benchQueries } from '../bench/queries.js';
import { fastCommitDb, openDatabase } from '../src/db/database.js';
import { createTestDatabase } from './support/database.js';

describe('database round trips per request', () => {
  it('stays within the budget of each hot path', async () => {
    const rows = Object.fromEntries((await benchQueries()).map((r) => [r.scenario, r['db round trips']]));
    expect(rows).toEqual({
      // The opaque token written (with the others of the same turn, in one statement under load).
      'client-credentials token': 1,
      // Session with its account, the account's consent for the service and the consent's grant;
      // code written. The session, unchanged and saved less than an hour ago, is not saved
      // again; activity: once per hour.
      'authorize (session and consent exist)': 2,
      // Code with its session, grant, account and consent; consumption; access token; consent's last use (once per 5 min).
      'token (authorization code)': 4,
      // Token with its session, grant, account and consent.
      userinfo: 1,
      // Interaction (written; read by the login page and the login form; saved with the login's
      // result without a second read; read with the account, its consent and the consent's grant
      // on the return to the provider; deleted); throttle admission and settlement; account by
      // email; login event; statistics; session; code.
      'password login (consent exists) up to the code': 13,
      discovery: 0,
      JWKS: 0,
    });
  });

  it('issues protocol rows without waiting for the disk, keeps every other write durable, and prepares statements once', async () => {
    const database = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR! });
    try {
      const setting = async (on: typeof db) =>
        (await sql<{ s: string }>`select current_setting('synchronous_commit') as s`.execute(on)).rows[0]!.s;
      expect(await setting(fastCommitDb(db))).toBe('off');
      expect(await setting(db)).toBe('on');
      expect(fastCommitDb(db)).toBe(fastCommitDb(db));
      // Statements with parameters are prepared once per connection (parsed and planned once).
      const prepared = await db.transaction().execute(async (trx) => {
        for (let i = 0; i < 2; i++) await sql`select ${i}::int as glc_probe`.execute(trx);
        return (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(trx)).rows;
      });
      expect(prepared.filter((p) => p.name.startsWith('glc_') && p.statement.includes('glc_probe'))).toHaveLength(1);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });

  it('keeps answering when another instance’s migration changes a table under a prepared statement', async () => {
    const database = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR! });
    const other = new pg.Client({ connectionString: database.env.DATABASE_URL });
    try {
      await sql`create table probe (id int primary key, a text)`.execute(db);
      await sql`insert into probe values (1, 'un')`.execute(db);
      const read = () => sql<Record<string, unknown>>`select * from probe where id = ${1}`.execute(db);
      expect((await read()).rows).toEqual([{ id: 1, a: 'un' }]);
      expect((await read()).rows).toEqual([{ id: 1, a: 'un' }]); // prepared on this connection by now
      // A rolling update: the new version's migration adds a column while this instance runs.
      await other.connect();
      await other.query('alter table probe add column b text');
      // PostgreSQL refuses the cached plan (its result type changed): read again, unprepared.
      expect((await read()).rows).toEqual([{ id: 1, a: 'un', b: null }]);
      expect((await read()).rows).toEqual([{ id: 1, a: 'un', b: null }]);
    } finally {
      await other.end().catch(() => undefined);
      await db.destroy();
      await database.drop();
    }
  });
});

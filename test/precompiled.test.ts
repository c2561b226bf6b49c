// Queries compiled once and sent with fresh values (db/precompiled.ts): the SQL is Kysely's own,
// each call's values reach PostgreSQL as parameters, and a value that would be frozen into the
// query text is refused when the query is defined.
import { describe, expect, it, vi } from 'vitest';
import { sql } from 'kysely';
import { precompile } from '../src/db/precompiled.js';
import pg from 'pg';
import { createTestDatabase, withMigratedDatabase } from './support/database.js';
import { fastCommitDb, openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

describe('precompiled queries', () => {
  it('sends the SQL Kysely compiles, with each call’s values and the constants in place', async () => {
    await withMigratedDatabase(async (db) => {
      const build = (q: typeof db, v: { model: string; id: string }) =>
        q
          .selectFrom('oidc_payloads')
          .select(['id', 'payload'])
          .where('model', '=', v.model)
          .where('id', '=', v.id)
          .where('uid', 'is', null);
      const query = precompile(build);
      expect(query.sql).toBe(build(db, { model: 'x', id: 'y' }).compile().sql);

      const insert = precompile((q, row: { model: string; id: string; payload: string; expires_at: Date | null }) =>
        q
          .insertInto('oidc_payloads')
          .values({ model: row.model, id: row.id, payload: row.payload, expires_at: row.expires_at, grant_id: 'constant-grant' }),
      );
      await insert.execute(db, { model: 'Session', id: 'a', payload: '{"n":1}', expires_at: null });
      await insert.execute(db, { model: 'Session', id: 'b', payload: '{"n":2}', expires_at: new Date(Date.now() + 60_000) });
      // A value that looks like SQL stays a value.
      await insert.execute(db, { model: 'Session', id: "c'; drop table oidc_payloads; --", payload: '{"n":3}', expires_at: null });

      expect((await query.execute(db, { model: 'Session', id: 'b' })).rows).toEqual([{ id: 'b', payload: { n: 2 } }]);
      expect((await query.execute(db, { model: 'Session', id: 'a' })).rows).toEqual([{ id: 'a', payload: { n: 1 } }]);
      expect((await query.execute(db, { model: 'Grant', id: 'a' })).rows).toEqual([]);
      const stored = await db.selectFrom('oidc_payloads').select(['id', 'grant_id', 'expires_at']).orderBy('id').execute();
      expect(stored.map((r) => [r.id, r.grant_id, r.expires_at === null])).toEqual([
        ['a', 'constant-grant', true],
        ['b', 'constant-grant', false],
        ["c'; drop table oidc_payloads; --", 'constant-grant', true],
      ]);
      // Inside a transaction too.
      const inside = await db.transaction().execute(async (trx) => (await query.execute(trx, { model: 'Session', id: 'a' })).rows.length);
      expect(inside).toBe(1);
    });
  });

  it('goes straight to the pool outside a transaction, with Kysely’s result, and stays on the transaction’s connection inside one', async () => {
    await withMigratedDatabase(async (db) => {
      const insert = precompile((q, row: { id: string }) =>
        q.insertInto('oidc_payloads').values({ model: 'Session', id: row.id, payload: '{}' }),
      );
      const remove = precompile((q, v: { prefix: string }) =>
        q.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('id', '>=', v.prefix),
      );
      const viaKysely = vi.spyOn(db, 'executeQuery');
      // Kysely's executor is not used on the database itself (db/database.ts, runnerOf)…
      expect((await insert.execute(db, { id: 'p1' })).numAffectedRows).toBe(1n);
      await insert.execute(db, { id: 'p2' });
      expect(viaKysely).not.toHaveBeenCalled();
      // …and the result has the same shape: rows, and affected rows of a change.
      const removed = await remove.execute(db, { prefix: 'p' });
      expect(removed).toEqual({ rows: [], numAffectedRows: 2n });
      expect(await db.deleteFrom('oidc_payloads').where('id', '=', 'none').executeTakeFirst()).toMatchObject({ numDeletedRows: 0n });
      viaKysely.mockRestore();

      // In a transaction that rolls back, its statements roll back with it: they ran on its connection.
      await expect(
        db.transaction().execute(async (trx) => {
          await insert.execute(trx, { id: 'rolled-back' });
          expect((await trx.selectFrom('oidc_payloads').select('id').where('id', '=', 'rolled-back').execute()).length).toBe(1);
          throw new Error('abandon');
        }),
      ).rejects.toThrow('abandon');
      expect(await db.selectFrom('oidc_payloads').select('id').where('id', '=', 'rolled-back').execute()).toEqual([]);

      // A failing statement gives its connection back: the pool still serves (10 connections at most).
      await insert.execute(db, { id: 'dup' });
      const duplicates = await Promise.allSettled(Array.from({ length: 12 }, () => insert.execute(db, { id: 'dup' })));
      expect(duplicates.every((d) => d.status === 'rejected' && (d.reason as { code?: string }).code === '23505')).toBe(true);
      expect((await insert.execute(db, { id: 'after' })).numAffectedRows).toBe(1n);
    });
  });

  it('closes the connections they opened when the database closes, also where Kysely itself never ran a query', async () => {
    const database = await createTestDatabase();
    const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR });
    const watcher = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await watcher.connect();
    const open = async (name: string) =>
      Number(
        (
          await watcher.query<{ n: string }>(
            'select count(*) as n from pg_stat_activity where datname = current_database() and application_name = $1',
            [name],
          )
        ).rows[0]!.n,
      );
    try {
      const now = precompile((q, v: { model: string }) => q.selectFrom('oidc_payloads').select('id').where('model', '=', v.model));
      await migrateToLatest(db);
      // The fast-commit pool is only ever used by precompiled statements here.
      await Promise.all(Array.from({ length: 3 }, () => now.execute(fastCommitDb(db), { model: 'Session' })));
      expect(await open('glc-fast-commit')).toBeGreaterThan(0);
      // The hot statements' own pool, on the database itself.
      await Promise.all(Array.from({ length: 3 }, () => now.execute(db, { model: 'Session' })));
      expect(await open('glc-hot')).toBeGreaterThan(0);
      await db.destroy();
      // A backend leaves pg_stat_activity shortly after its client has closed the connection:
      // each pool is polled (the hot pool's check once failed in CI, read too early).
      for (const pool of ['glc-fast-commit', 'glc-hot', 'glc']) await expect.poll(() => open(pool), { timeout: 2_000 }).toBe(0);
    } finally {
      await watcher.end();
      await database.drop();
    }
  });

  it('runs with a plan made once (generic), where other queries keep PostgreSQL’s choice', async () => {
    await withMigratedDatabase(async (db) => {
      const mode = precompile((q, v: { name: string }) => q.selectNoFrom(sql<string>`current_setting(${v.name})`.as('mode')));
      const viaHot = async (on: typeof db) => (await mode.execute(on, { name: 'plan_cache_mode' })).rows[0]!.mode;
      // Without it, PostgreSQL re-planned the joined reads at every execution (docs/performance.md).
      // The settings of a new connection are made before its first query, without pg's warning
      // about queries queued on a busy connection (a line on every process's error output).
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      try {
        expect(await Promise.all([viaHot(db), viaHot(db)])).toEqual(['force_generic_plan', 'force_generic_plan']);
        expect(await Promise.all([viaHot(fastCommitDb(db)), viaHot(fastCommitDb(db))])).toEqual([
          'force_generic_plan',
          'force_generic_plan',
        ]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.filter((w) => w.includes('already executing'))).toEqual([]);
      // Kysely's other queries (a partial index needs its condition known when planning).
      expect((await sql<{ mode: string }>`select current_setting(${'plan_cache_mode'}) as mode`.execute(db)).rows[0]!.mode).toBe('auto');
      // In a transaction, on the transaction's connection (Kysely's pool).
      expect(await db.transaction().execute((trx) => viaHot(trx))).toBe('auto');
      // A read over an array, as the batched lookups: planned once, then that plan reused. One
      // call at a time, so each takes the connection the previous one gave back.
      const byIds = precompile((q, v: { ids: string[] }) =>
        q
          .selectFrom('oidc_payloads')
          .select('id')
          .where('model', '=', 'Session')
          .where('id', '=', sql<string>`any(${v.ids}::text[])`),
      );
      for (let i = 0; i < 7; i++) await byIds.execute(db, { ids: [`s${i}`] });
      const plans = precompile((q, v: { text: string }) =>
        q
          .selectFrom(sql<{ statement: string; generic_plans: number; custom_plans: number }>`pg_prepared_statements`.as('p'))
          .select(['generic_plans', 'custom_plans'])
          .where('statement', '=', v.text),
      );
      expect((await plans.execute(db, { text: byIds.sql })).rows).toEqual([{ generic_plans: 7, custom_plans: 0 }]);
    });
  });

  it('refuses a value that would not be sent as a whole parameter', () => {
    expect(() =>
      precompile((q, v: { prefix: string }) => q.selectFrom('oidc_payloads').select('id').where('id', 'like', `${v.prefix}%`)),
    ).toThrow(/inside a larger parameter/);
    expect(() =>
      precompile((q, v: { kind: string }) =>
        q
          .selectFrom('oidc_payloads')
          .select('id')
          .where('model', '=', v.kind === 'a' ? 'A' : 'B'),
      ),
    ).toThrow(/not sent as parameters: kind/);
    expect(() =>
      precompile((q, row: { model: string; id: string }) => q.insertInto('oidc_payloads').values({ ...row, payload: '{}' })),
    ).toThrow(/name each value/);
    expect(() => precompile((q, v: { column: string }) => q.selectFrom('oidc_payloads').select(sql.raw<string>(v.column).as('x')))).toThrow(
      /not sent as parameters/,
    );
  });
});

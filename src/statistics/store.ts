// SQL of the anonymous statistics: one upsert per event, reads of daily rows, and the
// distinct-account figures computed from the account data itself at reading time.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Db } from '../db/database.js';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface DailyRow {
  day: string;
  client_id: string | null;
  kind: string;
  detail: string;
  count: number;
}

export function createStatisticsStore(db: Db) {
  return {
    /** One statement, safe under concurrency: two requests of the same day add up. */
    async increment(ex: Executor, key: { day: string; clientId: string | null; kind: string; detail: string }, by: number): Promise<void> {
      await ex
        .insertInto('statistics_daily')
        .values({ day: key.day, client_id: key.clientId, kind: key.kind, detail: key.detail, count: by })
        .onConflict((oc) =>
          oc.constraint('statistics_daily_key').doUpdateSet({ count: sql<number>`statistics_daily.count + excluded.count` }),
        )
        .execute();
    },

    /** Daily rows between two days (inclusive), optionally of some services only. */
    async rows(from: string, to: string, clientIds?: readonly string[]): Promise<DailyRow[]> {
      if (clientIds && clientIds.length === 0) return [];
      let q = db
        .selectFrom('statistics_daily')
        .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'client_id', 'kind', 'detail', 'count'])
        .where('day', '>=', from)
        .where('day', '<=', to);
      if (clientIds) q = q.where('client_id', 'in', clientIds);
      const rows = await q.orderBy('day').orderBy('client_id').orderBy('kind').orderBy('detail').execute();
      return rows.map((r) => ({ ...r, count: Number(r.count) }));
    },

    /** Accounts with a login in the last 30 / 365 days, and with a certified identity: distinct
     * residents, counted from the account data, never from a per-resident statistics table. */
    async accountFigures(now: Date): Promise<{ active30: number; active365: number; certified: number }> {
      const day = 86_400_000;
      const row = await db
        .selectFrom('accounts')
        .select([
          sql<string>`count(*) filter (where last_activity_at >= ${new Date(now.getTime() - 30 * day)})`.as('active30'),
          sql<string>`count(*) filter (where last_activity_at >= ${new Date(now.getTime() - 365 * day)})`.as('active365'),
        ])
        .executeTakeFirstOrThrow();
      const certified = await db
        .selectFrom('franceconnect_certified_fields')
        .select(sql<string>`count(distinct account_id)`.as('n'))
        .executeTakeFirstOrThrow();
      return { active30: Number(row.active30), active365: Number(row.active365), certified: Number(certified.n) };
    },

    /** Service names and organisations, for the published tables and a commune's own services. */
    async clients(): Promise<{ client_id: string; name: string; organisation: string | null }[]> {
      return db.selectFrom('clients').select(['client_id', 'name', 'organisation']).execute();
    },

    async purgeBefore(day: string): Promise<number> {
      const r = await db.deleteFrom('statistics_daily').where('day', '<', day).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type StatisticsStore = ReturnType<typeof createStatisticsStore>;

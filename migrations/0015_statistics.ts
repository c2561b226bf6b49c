// Anonymous usage statistics: daily counters keyed by day, service and kind. No account id, IP,
// user agent or timestamp finer than the day: a row can only ever say « n events of this kind,
// at this service, that day ». See docs/statistiques.md.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('statistics_daily')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('count', 'bigint', (c) => c.notNull().check(sql`count >= 0`))
    .execute();
  // NULLS NOT DISTINCT: the GLC-wide counters (no service) are upserted like the others.
  await sql`alter table statistics_daily add constraint statistics_daily_key unique nulls not distinct (day, client_id, kind, detail)`.execute(
    db,
  );
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

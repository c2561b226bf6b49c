// Table of the anonymous usage statistics, merged into the Database interface of db/schema.ts.
// Deliberately nothing that could identify a resident: day, service, kind, detail, count.
import type { ColumnType } from 'kysely';

export interface StatisticsDailyTable {
  /** The day, as 'YYYY-MM-DD' (Europe/Paris); never a finer timestamp. */
  day: ColumnType<string, string, string>;
  client_id: string | null;
  kind: string;
  detail: ColumnType<string, string | undefined, string>;
  /** bigint: pg returns it as a string. */
  count: ColumnType<string, number, number>;
}

export interface StatisticsTables {
  statistics_daily: StatisticsDailyTable;
}

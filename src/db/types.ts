// Column types shared by every domain's tables (kept apart from schema.ts, which imports the
// domains' tables: a domain's tables.ts imports these without a cycle).
import type { ColumnType } from 'kysely';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type Json<T> = ColumnType<T, string, string>;

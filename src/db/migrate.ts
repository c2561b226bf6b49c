import { Migrator, type MigrationResultSet } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import type { Db } from './database.js';

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  return result;
}

export type SchemaState = { ok: true } | { ok: false; reason: 'unreachable' | 'missing' | 'behind'; pending?: number };

/**
 * Whether the database holds the schema this code expects: reachable, migrated, none of this
 * code's migrations pending (a newer instance may have migrated further: that is fine).
 */
export async function schemaState(db: Db): Promise<SchemaState> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  let known;
  try {
    known = await migrator.getMigrations();
  } catch {
    return { ok: false, reason: 'unreachable' };
  }
  const pending = known.filter((m) => !m.executedAt).length;
  if (pending === known.length) return { ok: false, reason: 'missing', pending };
  return pending ? { ok: false, reason: 'behind', pending } : { ok: true };
}

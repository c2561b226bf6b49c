// FranceConnect recovery requests opened by the resident from the choice page when no account
// matches (civil-status change: new sub and new values): no account yet (the help desk finds it),
// and the new certified identity, applied when the help desk relinks. Deleted after 30 days.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('franceconnect_recovery_requests')
    .alterColumn('account_id', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('franceconnect_recovery_requests')
    .alterColumn('old_sub_hash', (c) => c.dropNotNull())
    .execute();
  await db.schema.alterTable('franceconnect_recovery_requests').addColumn('identity', 'jsonb').execute();
  await db.schema.createIndex('franceconnect_recovery_requests_new_sub').on('franceconnect_recovery_requests').column('new_sub').execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

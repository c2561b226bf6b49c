import { sql, type Kysely } from 'kysely';

// Staged key rotation: a key is published at once and signs only from `activates_at`, after
// every instance has reloaded its keys (src/oidc/keys.ts). Keys already there signed from their
// creation.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('activates_at', 'timestamptz').execute();
  await sql`update signing_keys set activates_at = created_at`.execute(db);
  await db.schema
    .alterTable('signing_keys')
    .alterColumn('activates_at', (c) => c.setNotNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

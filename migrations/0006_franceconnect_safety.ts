import { sql, type Kysely } from 'kysely';

// FranceConnect safety: undoing an automatic link (« Ce n’est pas mon compte ») and the
// recovery of an account whose FranceConnect `sub` changed.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The six values the account declared before an automatic link certified (and overwrote)
  // them: restored if the resident says the account is not theirs.
  await db.schema.alterTable('franceconnect_attempts').addColumn('declared_before', 'jsonb').execute();

  // « Ce n’est pas mon compte »: this FranceConnect identity is never linked automatically to
  // this account again (sub stored as a SHA-256 hash).
  await db.schema
    .createTable('franceconnect_link_refusals')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('sub_hash', 'text', (c) => c.notNull())
    .addColumn('refused_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('franceconnect_link_refusals_pk', ['account_id', 'sub_hash'])
    .execute();

  // An unknown sub whose certified identity equals that of an account linked to another sub,
  // an account without password: never relinked automatically; the help desk (SAU) handles it
  // with this reference.
  await db.schema
    .createTable('franceconnect_recovery_requests')
    .addColumn('reference', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('new_sub', 'text', (c) => c.notNull())
    .addColumn('old_sub_hash', 'text', (c) => c.notNull())
    .addColumn('new_sub_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('resolved_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('franceconnect_recovery_requests_account')
    .on('franceconnect_recovery_requests')
    .column('account_id')
    .execute();
  await db.schema
    .createIndex('franceconnect_recovery_requests_expires')
    .on('franceconnect_recovery_requests')
    .column('expires_at')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

import { sql, type Kysely } from 'kysely';

// Deletion domain: the services that know each account (and by which sub), the records of
// deleted accounts that services poll, and the inactivity warnings already sent.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('account_subjects')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('account_subjects_pk', ['account_id', 'client_id'])
    .execute();

  await db.schema
    .createTable('deleted_accounts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason in ('inactivity', 'user_request', 'operator')`))
    .execute();
  // A service's feed, page by page (cursor = id), read from the index alone; `since`; retention.
  await sql`create index deleted_accounts_client_id on deleted_accounts (client_id, id) include (sub, deleted_at, reason)`.execute(db);
  await db.schema.createIndex('deleted_accounts_client_time').on('deleted_accounts').columns(['client_id', 'deleted_at']).execute();
  await db.schema.createIndex('deleted_accounts_deleted_at').on('deleted_accounts').column('deleted_at').execute();

  await db.schema
    .createTable('inactivity_warnings')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('days_before', 'integer', (c) => c.notNull())
    .addColumn('activity_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('inactivity_warnings_pk', ['account_id', 'activity_at', 'days_before'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

import { sql, type Kysely } from 'kysely';

// FranceConnect: links (sub ↔ account), certified pivot fields, round trips (state/nonce bound
// to a browser), and the raw ID token of sessions opened through FranceConnect (for logout).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('franceconnect_links')
    .addColumn('account_id', 'uuid', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('sub', 'text', (c) => c.notNull().unique())
    .addColumn('linked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_login_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('franceconnect_certified_fields')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('FranceConnect'))
    .addColumn('acr', 'text', (c) => c.notNull())
    .addColumn('certified_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('franceconnect_certified_fields_pk', ['account_id', 'field'])
    .execute();

  await db.schema
    .createTable('franceconnect_attempts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('state_hash', 'text', (c) => c.notNull().unique())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('browser_hash', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('interaction_uid', 'text')
    .addColumn('account_id', 'uuid', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('return_to', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('state_used_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('sub', 'text')
    .addColumn('identity', 'jsonb')
    .addColumn('id_token_encrypted', 'text')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('franceconnect_attempts_browser')
    .on('franceconnect_attempts')
    .columns(['browser_hash', 'interaction_uid'])
    .execute();
  await db.schema.createIndex('franceconnect_attempts_expires').on('franceconnect_attempts').column('expires_at').execute();

  await db.schema
    .createTable('franceconnect_sessions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('browser_hash', 'text', (c) => c.notNull())
    .addColumn('id_token_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('franceconnect_sessions_browser')
    .on('franceconnect_sessions')
    .columns(['browser_hash', 'account_id'])
    .execute();
  await db.schema.createIndex('franceconnect_sessions_expires').on('franceconnect_sessions').column('expires_at').execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

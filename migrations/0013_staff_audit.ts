// Back-office: staff roles, their second factor, their sessions, and the staff audit journal.
// The journal is one hash chain (seq), append-only by trigger; rows are deleted only by the
// retention purge, which sets glc.audit_purge for its own transaction, and only from the oldest.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('staff_roles')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('assistance', 'dpo', 'admin')`))
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('granted_by', 'text')
    .addPrimaryKeyConstraint('staff_roles_pk', ['account_id', 'role'])
    .execute();

  await db.schema
    .createTable('staff_second_factors')
    .addColumn('account_id', 'uuid', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('totp_secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('recovery_codes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('last_step', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('staff_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('second_factor_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('staff_sessions_account').on('staff_sessions').column('account_id').execute();

  await db.schema
    .createTable('audit_journal')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('staff_account_id', 'text', (c) => c.notNull())
    .addColumn('staff_email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_account_id', 'text')
    .addColumn('target_client_id', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_journal_target').on('audit_journal').column('target_account_id').execute();
  await db.schema.createIndex('audit_journal_at').on('audit_journal').column('at').execute();

  await sql`
    create function audit_journal_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' and current_setting('glc.audit_purge', true) = 'on' then
        return old;
      end if;
      raise exception 'audit_journal is append-only';
    end $$`.execute(db);
  await sql`create trigger audit_journal_append_only before update or delete on audit_journal
    for each row execute function audit_journal_append_only()`.execute(db);

  // Help-desk search: lower-case, accents removed (no extension needed, works on every PostgreSQL).
  await sql`create function glc_fold(text) returns text language sql immutable parallel safe as $$
    select translate(lower($1), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿœæ', 'aaaaaaceeeeiiiinooooouuuuyyoa') $$`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

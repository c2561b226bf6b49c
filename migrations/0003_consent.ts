import { sql, type Kysely } from 'kysely';

// Consent records per (resident, service) and the hash-chained consent journal.
// The journal has no foreign key to accounts on purpose: its entries outlive the account
// (pseudonymised) for the legal proof period. A trigger keeps it append-only.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('consents')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'withdrawn', 'expired')`))
    .addColumn('claims', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('declined', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('scopes', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('request_version', 'integer', (c) => c.notNull())
    .addColumn('purpose', 'text')
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('grant_id', 'text')
    .addPrimaryKeyConstraint('consents_pk', ['account_id', 'client_id'])
    .execute();
  await db.schema
    .createIndex('consents_active_expiry')
    .on('consents')
    .column('expires_at')
    .where(sql.ref('status'), '=', 'active')
    .execute();
  await db.schema.createIndex('consents_client').on('consents').column('client_id').execute();

  await db.schema
    .createTable('consent_journal')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('account_id', 'uuid')
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('prev_hash', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('purge_after', 'timestamptz')
    .addUniqueConstraint('consent_journal_subject_seq', ['subject', 'seq'])
    .execute();
  await db.schema.createIndex('consent_journal_account').on('consent_journal').column('account_id').execute();
  await db.schema
    .createIndex('consent_journal_purge')
    .on('consent_journal')
    .column('purge_after')
    .where(sql.ref('purge_after'), 'is not', null)
    .execute();

  // Append-only: the chained columns never change; account_id may only be erased and
  // purge_after only set (account deletion); rows may only be deleted once marked for purge.
  await sql`
    create function consent_journal_append_only() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        if old.purge_after is null then
          raise exception 'consent_journal is append-only';
        end if;
        return old;
      end if;
      if new.id <> old.id or new.subject <> old.subject or new.seq <> old.seq or new.event <> old.event
         or new.client_id is distinct from old.client_id or new.detail <> old.detail or new.at <> old.at
         or new.prev_hash is distinct from old.prev_hash or new.hash <> old.hash
         or (new.account_id is not null and new.account_id is distinct from old.account_id)
         or (old.purge_after is not null and new.purge_after is distinct from old.purge_after) then
        raise exception 'consent_journal is append-only';
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger consent_journal_append_only before update or delete on consent_journal
    for each row execute function consent_journal_append_only()`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

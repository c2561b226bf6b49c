import { sql, type Kysely } from 'kysely';

// The deleted-accounts feed as Security Event Tokens delivered by poll (RFC 8936): what each
// service acknowledged. A stream's `acked_through` says every record of the service up to that
// id is acknowledged; acknowledgements above it (out of order) are kept one by one until the
// stream's mark passes them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('security_event_streams')
    .addColumn('client_id', 'text', (c) => c.primaryKey().references('clients.client_id').onDelete('cascade'))
    .addColumn('acked_through', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('security_event_acks')
    .addColumn('record_id', 'bigint', (c) => c.primaryKey().references('deleted_accounts.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('acked_at', 'timestamptz', (c) => c.notNull())
    // setErrs of the poll request: the service received the SET but could not process it.
    .addColumn('err', 'text')
    .addColumn('description', 'text')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

// Help-desk tickets: each « Contacter l'assistance » message, worked by the help desk in the
// console (new → in progress → closed, with notes), deleted HELP_TICKET_RETENTION_DAYS after closing.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('help_tickets')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('new')
        .check(sql`status in ('new', 'in_progress', 'closed')`),
    )
    .addColumn('notes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('help_tickets_status').on('help_tickets').columns(['status', 'created_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

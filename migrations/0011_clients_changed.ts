import { sql, type Kysely } from 'kysely';

// Every instance keeps the services' registrations in memory (read on every token request):
// any change to the clients table, from any process (an instance, the glc CLI, an operator's
// SQL), notifies channel glc_clients so that every instance drops its copy at once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create function glc_clients_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('glc_clients', '');
      return null;
    end $$`.execute(db);
  await sql`create trigger clients_changed after insert or update or delete or truncate on clients
    for each statement execute function glc_clients_changed()`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

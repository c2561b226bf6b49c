import type { Kysely } from 'kysely';

// A service may receive its consented claims in the ID token too (libraries that read only the
// ID token: express-openid-connect, Auth.js…). Off by default: userinfo is the standard channel.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('claims_in_id_token', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('GLC migrations are forward-only');
}

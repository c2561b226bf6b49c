// One Kysely instance for the whole process, on PostgreSQL: the server of DATABASE_URL, or
// without it (development only) the embedded server that GLC starts in DATA_DIR/postgres.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { acquireEmbeddedPostgres } from './embedded.js';

export type Db = Kysely<Database>;

// The queue library (pg-boss) opens its own small pool on the same database.
const urls = new WeakMap<Db, string>();
export function connectionStringOf(db: Db): string {
  const url = urls.get(db);
  if (!url) throw new Error('database opened without openDatabase');
  return url;
}

// timestamptz as Date and bigint as number are what the domain code expects.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDatabase(options: { databaseUrl?: string | undefined; dataDir: string; embeddedDbPort?: number | undefined }): Promise<Db> {
  if (options.databaseUrl) return connect(options.databaseUrl);
  const server = await acquireEmbeddedPostgres({ dataDir: options.dataDir, port: options.embeddedDbPort });
  const db = connect(server.url);
  // The embedded server stops (when no other process uses it) after the pool has closed.
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    try {
      await destroy();
    } finally {
      await server.release();
    }
  };
  return db;
}

function connect(connectionString: string): Db {
  const pool = new pg.Pool({ connectionString, max: 10, idleTimeoutMillis: 30_000, application_name: 'glc' });
  // A broken idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  urls.set(db, connectionString);
  return db;
}

export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

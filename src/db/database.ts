// One Kysely instance for the whole process: PostgreSQL in production and tests,
// an embedded PGlite database in DATA_DIR for the newcomer's `npm start`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, PGliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

// PGlite has a single connection and serves a single process (see lockEmbeddedDatabase).
const embedded = new WeakSet<Db>();
const pools = new WeakMap<Db, pg.Pool>();

/** Connection pool figures for the metrics; undefined on the embedded database. */
export function poolStats(db: Db): { total: number; idle: number; waiting: number; max: number } | undefined {
  const pool = pools.get(db);
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 };
}
export const isEmbedded = (db: Db): boolean => embedded.has(db);

// timestamptz as Date and bigint as number are what the domain code expects.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDatabase(options: { databaseUrl?: string | undefined; dataDir: string }): Promise<Db> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, idleTimeoutMillis: 30_000 });
    // A broken idle connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    pools.set(db, pool);
    return db;
  }
  const dir = path.resolve(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const release = lockEmbeddedDatabase(dir);
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  embedded.add(db);
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    await destroy();
    release();
  };
  return db;
}

/** PGlite is single-process: a second process on the same folder would corrupt it. */
function lockEmbeddedDatabase(dir: string): () => void {
  const file = path.join(dir, '..', 'pglite.lock');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(file, 'utf8'));
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(`la base embarquée (${dir}) est déjà ouverte par le processus ${holder} ; arrêtez-le d’abord (npm start et glc ne peuvent pas l’ouvrir en même temps)`);
    }
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `onNotify` on every NOTIFY of `channel` from any process, on a connection of its own
 * (reopened after a failure). Also runs it whenever that connection (re)opens, since
 * notifications sent meanwhile were lost. The embedded database serves one process: nothing
 * to listen to. Closed with the database.
 */
export function listen(db: Db, channel: string, onNotify: () => void): void {
  const pool = pools.get(db);
  if (!pool) return;
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const open = () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: pool.options.connectionString });
    client = c;
    const reopen = () => {
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      c.end().catch(() => undefined);
      if (client === c && !closed) retry = setTimeout(open, 1_000).unref();
    };
    c.on('error', reopen);
    c.on('notification', (n) => { if (n.channel === channel) onNotify(); });
    c.connect()
      .then(() => c.query(`listen ${pg.escapeIdentifier(channel)}`))
      .then(() => onNotify(), reopen);
  };
  open();
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    closed = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
    await destroy();
  };
}

export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

// One Kysely instance for the whole process, on PostgreSQL: the server of DATABASE_URL, or
// without it (development only) the embedded server that GLC starts in DATA_DIR/postgres.
import { Kysely, PostgresDialect, sql, type QueryResult } from 'kysely';
import { createHash } from 'node:crypto';
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
// Every pool a database opened here uses: Kysely's first, then the hot statements' and the fast-commit one.
const allPools = new WeakMap<Db, pg.Pool[]>();

/** Connection pool figures for the metrics: the pools of `db` (and of its fast-commit twin) summed. */
export function poolStats(db: Db): { total: number; idle: number; waiting: number; max: number } | undefined {
  const list = allPools.get(db);
  if (!list) return undefined;
  const sum = (of: (pool: pg.Pool) => number) => list.reduce((n, pool) => n + of(pool), 0);
  return {
    total: sum((p) => p.totalCount),
    idle: sum((p) => p.idleCount),
    waiting: sum((p) => p.waitingCount),
    max: sum((p) => p.options.max ?? 10),
  };
}

// timestamptz as Date and bigint as number are what the domain code expects.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openDatabase(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  embeddedDbPort?: number | undefined;
}): Promise<Db> {
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
  const hot = new pg.Pool({ connectionString, max: 4, idleTimeoutMillis: 30_000, application_name: 'glc-hot' });
  hot.on('connect', (client) => void client.query(GENERIC_PLANS).catch(() => undefined));
  const db = kyselyOn(pool, hot);
  urls.set(db, connectionString);
  return db;
}

// The hot statements (db/precompiled.ts: the protocol's reads and writes, on every authorization,
// token and userinfo) run on their own connections, planned once with a generic plan. Left to
// choose, PostgreSQL planned them again at each execution: the generic plan of a query over an
// array of unknown length is costed above a custom one, so it never won, and the planning (0.4 to
// 0.9 ms for the joined reads) was paid on every run. Measured: PostgreSQL's CPU per code flow
// −24 % with one process, −32 % with two (docs/performance.md, seventh pass). Their generic plans were read at scale (index scans
// only). Other queries keep PostgreSQL's choice: a generic plan cannot use a partial index whose
// condition is a parameter (Kysely sends every value as one).
// A SET on each new connection (queued before its first query) rather than a startup `options`
// parameter, which PgBouncer refuses by default.
const GENERIC_PLANS = 'set plan_cache_mode to force_generic_plan';

// Statements with parameters are prepared once per connection under a name derived from their
// text: PostgreSQL then parses and plans each hot query once per connection instead of on every
// request (the same few dozen statements serve every login, token and userinfo).
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 2_000;
function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `glc_${createHash('sha256').update(text).digest('base64url').slice(0, 40)}`;
    statementNames.set(text, name);
  }
  return name;
}

// SQLSTATE 0A000 "cached plan must not change result type": a table under a prepared `select *`
// changed (another instance's migration during a rolling update).
const PLAN_RESULT_CHANGED = '0A000';

function prepareStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // Statements PostgreSQL refused to re-plan on this connection: sent unprepared from then on.
  const stale = new Set<string>();
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      const name = statementName(config);
      if (name && !stale.has(name)) {
        return (query({ name, text: config, values }) as Promise<unknown>).catch((err: { code?: string }) => {
          if (err?.code !== PLAN_RESULT_CHANGED) throw err;
          stale.add(name);
          // Outside a transaction this answers at once; inside one, the transaction has failed
          // and its retry will run unprepared.
          return query(config, values);
        });
      }
    }
    return callback === undefined ? query(config, values) : query(config, values, callback);
  };
}

/** Kysely on `pool`; the precompiled statements run directly on `hot` (the same pool unless given). */
function kyselyOn(pool: pg.Pool, hot: pg.Pool = pool): Db {
  const own = hot === pool ? [pool] : [pool, hot];
  for (const p of own) {
    // A broken idle connection must not crash the process; the next query reconnects.
    p.on('error', () => undefined);
    p.on('connect', prepareStatements);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  allPools.set(db, own);
  runners.set(db, poolRunner(hot));
  // Kysely ends its pool only if it used it itself; the direct runner may have been its only user.
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    await destroy();
    for (const p of own) if (!p.ending) await p.end();
  };
  return db;
}

type PoolRunner = (text: string, parameters: readonly unknown[]) => Promise<QueryResult<unknown>>;
const runners = new WeakMap<Db, PoolRunner>();

/**
 * Sends a statement compiled once (db/precompiled.ts) on a connection of the pool, for the result
 * Kysely's executor would give (rows; affected rows of an insert, update or delete). The executor
 * adds a dozen promises and closures around the connection it lends: measured alone, 41 µs of CPU
 * per statement through it against 29 µs here.
 */
function poolRunner(pool: pg.Pool): PoolRunner {
  return async (text, parameters) => {
    const client = await pool.connect();
    try {
      const { command, rowCount, rows } = await client.query(text, parameters as unknown[]);
      const changed = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
      return { rows, numAffectedRows: changed ? BigInt(rowCount ?? 0) : undefined };
    } finally {
      client.release();
    }
  };
}

/** The direct runner of a database opened here; undefined for a transaction, whose statements stay on its connection. */
export function runnerOf(on: unknown): PoolRunner | undefined {
  return runners.get(on as Db);
}

const fastCommitDbs = new WeakMap<Db, Db>();

/**
 * The same database through a small pool whose commits do not wait for the WAL to reach the
 * disk (synchronous_commit=off): a committed row is visible to every instance at once, but a
 * crash of PostgreSQL itself may lose the last fraction of a second (3 × wal_writer_delay at
 * most, 600 ms by default). Only for rows whose loss costs a resident one more login — protocol
 * sessions, codes and tokens as they are issued (oidc/adapter.ts). Revocations, single-use
 * consumption, accounts, consents and journals stay on the durable pool. Closed with `db`.
 */
export function fastCommitDb(db: Db): Db {
  const existing = fastCommitDbs.get(db);
  if (existing) return existing;
  const url = connectionStringOf(db);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    idleTimeoutMillis: 30_000,
    application_name: 'glc-fast-commit',
  });
  // Only precompiled statements use it (the adapter's saves): generic plans, as the hot pool.
  // One query (two statements): a second one queued behind it would make pg print a deprecation warning.
  pool.on('connect', (client) => void client.query(`set synchronous_commit to off; ${GENERIC_PLANS}`).catch(() => undefined));
  const fast = kyselyOn(pool);
  fastCommitDbs.set(db, fast);
  allPools.get(db)?.push(pool);
  const destroy = db.destroy.bind(db);
  db.destroy = async () => {
    await fast.destroy().catch(() => undefined);
    await destroy();
  };
  return fast;
}

/**
 * Runs `onNotify` on every NOTIFY of `channel` from any process, on a connection of its own
 * (reopened after a failure). Also runs it whenever that connection (re)opens, since
 * notifications sent meanwhile were lost. The embedded database serves one process: nothing
 * to listen to. Closed with the database.
 */
export function listen(db: Db, channel: string, onNotify: () => void): void {
  const pool = allPools.get(db)?.[0];
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
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify();
    });
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

/** The advisory-lock key named `name`: 48 bits of SHA-256, a safe integer that reaches PostgreSQL's bigint unchanged. */
export function advisoryLockKey(name: string): number {
  return createHash('sha256').update(`glc-lock:${name}`).digest().readUIntBE(0, 6);
}

/**
 * Runs `fn` while holding a PostgreSQL advisory lock named `name`, waiting for it if another
 * process holds it: for a step that instances starting together must take one at a time.
 */
export async function withLockHeld<T>(db: Db, name: string, fn: () => Promise<T>): Promise<T> {
  const key = advisoryLockKey(name);
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${key}::bigint)`.execute(conn);
    try {
      return await fn();
    } finally {
      await sql`select pg_advisory_unlock(${key}::bigint)`.execute(conn);
    }
  });
}

export async function isDatabaseReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

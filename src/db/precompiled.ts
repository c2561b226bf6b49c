// Hot queries built and compiled by Kysely once, then sent with fresh values. Building a query's
// operation tree and compiling it to SQL cost more of GLC's CPU on the userinfo and token paths
// than running the statement does (bench/profile.ts: about a seventh of the process on userinfo).
// Only for queries of a fixed shape: each value named in `build` becomes one placeholder, never
// part of the SQL text, so what PostgreSQL receives is exactly what Kysely would have sent. Run on
// the database itself, they go straight to its pool (db/database.ts, runnerOf), not through
// Kysely's executor; in a transaction, through it, on the transaction's connection.
import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type QueryResult,
} from 'kysely';
import type { Database } from './schema.js';
import { runnerOf } from './database.js';

// Compiles, never connects: precompiled queries can be module constants, and run on any pool.
const compileOnly = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

// Stand-ins for the values while the query is compiled; NUL never reaches PostgreSQL (it refuses it).
const MARK = '\u0000glc-value:';

type Slot = { value: string } | { constant: unknown };

export interface Precompiled<Values, Row> {
  /** The SQL text, as compiled once. */
  readonly sql: string;
  /** Runs on `on`: the database, the fast-commit pool or a transaction. */
  execute(on: Pick<Kysely<Database>, 'executeQuery'>, values: Values): Promise<QueryResult<Row>>;
}

/**
 * `build` receives a query builder and stand-ins for the values, and returns the query; it runs
 * once, here. A value used anywhere but as a whole parameter (concatenated, stringified, compared
 * in JavaScript, spread) is refused at once rather than frozen into the SQL.
 */
export function precompile<Values extends Record<string, unknown>, Row>(
  build: (db: Kysely<Database>, values: Values) => Compilable<Row>,
): Precompiled<Values, Row> {
  const named = new Set<string>();
  const standIns = new Proxy(
    {},
    {
      get(_target, key) {
        if (typeof key !== 'string') return undefined;
        named.add(key);
        return `${MARK}${key}`;
      },
      // Spread or listed, the stand-ins would silently be none: each value must be named.
      ownKeys() {
        throw new Error('precompile: name each value (values.x), do not spread or list them');
      },
    },
  ) as Values;
  const compiled = build(compileOnly, standIns).compile();
  const slots: Slot[] = compiled.parameters.map((p) => {
    if (typeof p === 'string' && p.includes(MARK)) {
      const key = p.slice(MARK.length);
      if (!p.startsWith(MARK) || !named.has(key)) throw new Error(`precompile: value used inside a larger parameter: ${JSON.stringify(p)}`);
      return { value: key };
    }
    return { constant: p };
  });
  const placed = new Set(slots.flatMap((s) => ('value' in s ? [s.value] : [])));
  const lost = [...named].filter((key) => !placed.has(key));
  if (lost.length > 0 || compiled.sql.includes(MARK)) throw new Error(`precompile: values not sent as parameters: ${lost.join(', ')}`);
  const { sql } = compiled;
  return {
    sql,
    execute: (on, values) => {
      const parameters = slots.map((s) => ('value' in s ? values[s.value] : s.constant));
      // Straight to the pool when `on` is the database itself (db/database.ts); through Kysely in a transaction.
      const run = runnerOf(on);
      return (run ? run(sql, parameters) : on.executeQuery(CompiledQuery.raw(sql, parameters))) as Promise<QueryResult<Row>>;
    },
  };
}

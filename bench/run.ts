// All benchmarks, or those named: npm run bench [-- http scale queries deleted-accounts purge] [--quick]
//   http: GLC (compiled, own process, PostgreSQL) against the bare library, see bench/http.ts
//     (--workers=1,2: also with one process per core; --scenarios=cc,code,userinfo,discovery,jwks,login)
//   scale: 1 then 2 GLC instances behind HAProxy (bench/scale.ts); queries: DB round trips per request
//   deleted-accounts, purge: the deletion routines (BENCH_RECORDS / --quick for smaller volumes)
// PostgreSQL from BENCH_DATABASE_URL or TEST_DATABASE_URL (default the local server); each
// benchmark uses a fresh database and listens on loopback only. Bounded in count.
import { benchHttp, httpOptions } from './http.js';
import { benchScale } from './scale.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
// Smaller volumes in quick mode (set before the benchmark modules read them).
if (quick) {
  process.env.BENCH_RECORDS ??= '100000';
  process.env.BENCH_REQUESTS ??= '100';
  process.env.BENCH_ACCOUNTS ??= '10000';
}
const { benchDeletedAccounts } = await import('./deleted-accounts.js');
const { benchPurge } = await import('./purge.js');

const BENCHES: Record<string, () => Promise<Record<string, number | string>[]>> = {
  http: () => benchHttp(httpOptions(argv)),
  scale: () => benchScale(argv),
  queries: async () => (await import('./queries.js')).benchQueries(),
  'deleted-accounts': benchDeletedAccounts,
  purge: benchPurge,
};

const wanted = argv.filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const started = performance.now();
  console.log(`\n▶ ${name}`);
  console.table(await BENCHES[name]!());
  console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
process.exit(0);

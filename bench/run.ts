// All benchmarks, or those named: npm run bench [-- oidc-flow deleted-accounts purge]
// PostgreSQL from BENCH_DATABASE_URL or TEST_DATABASE_URL (default the local server); each
// benchmark uses a fresh database and a GLC listening on loopback only. Bounded in count.
import { benchOidcFlow } from './oidc-flow.js';
import { benchDeletedAccounts } from './deleted-accounts.js';
import { benchPurge } from './purge.js';

const BENCHES: Record<string, () => Promise<Record<string, number | string>[]>> = {
  'oidc-flow': benchOidcFlow,
  'deleted-accounts': benchDeletedAccounts,
  purge: benchPurge,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
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

// CPU profile of GLC (compiled, own process) under one scenario of bench/http.ts, and the
// functions with the most self time: npx tsx bench/profile.ts <cc|code|userinfo|login> [seconds]
// Run `npm run build` first. The .cpuprofile is left in bench/results/profiles/ (open it in
// Chrome DevTools or speedscope for the flame graph).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { glcScenario, runLoad, seedGlc, startGlcProcess } from './http.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
const which = process.argv[2] ?? 'cc';
const seconds = Number(process.argv[3] ?? 5);
const dir = path.resolve('bench/results/profiles');
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));

const seed = await seedGlc(16);
const glc = await startGlcProcess(seed, 1, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
try {
  const scenario = await glcScenario(which, glc, seed, seconds);
  console.log(which, await runLoad(scenario));
} finally {
  await glc.stop();
  await seed.drop();
}
const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: Node[] };
const total = profile.nodes.reduce((n, x) => n + x.hitCount, 0);
const self = new Map<string, number>();
for (const n of profile.nodes) {
  const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist\/)/, '$1');
  const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + n.hitCount);
}
const byPackage = new Map<string, number>();
for (const n of profile.nodes) {
  const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(n.callFrame.url);
  const pkg = m
    ? m[1]!
    : n.callFrame.url.includes('/dist/')
      ? 'GLC (dist)'
      : n.callFrame.url
        ? 'node:internals'
        : n.callFrame.functionName || '(native)';
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n.hitCount);
}
console.log(`\n${path.join('bench/results/profiles', file)}\nself time by package:`);
for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
console.log('top functions (self):');
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
process.exit(0);

import { mkdirSync, readdirSync } from 'node:fs';
import { seedGlc, startGlcProcess } from './http.js';
const dir = '/tmp/startprof'; mkdirSync(dir, { recursive: true });
const seed = await seedGlc(4);
for (let i = 0; i < 3; i++) { const g = await startGlcProcess(seed, 1); console.log('cold start', Math.round(g.coldStartMs)); await g.stop(); }
const g = await startGlcProcess(seed, 1, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
console.log('profiled start', Math.round(g.coldStartMs)); await g.stop();
for (let i = 0; i < 3; i++) { const g2 = await startGlcProcess(seed, 2); console.log('cold start 2 workers', Math.round(g2.coldStartMs)); await g2.stop(); }
await seed.drop();
console.log(readdirSync(dir));
process.exit(0);

// Where the machine's cores go during one scenario of bench/http.ts: CPU time of GLC's main
// thread, its thread pool (argon2id, crypto), its other threads (V8's garbage collector),
// PostgreSQL, the load generator and the rest, read from /proc over a window in the middle of
// the load. For deciding where to work, not for the report:
//   npm run build && npx tsx bench/cpu-split.ts <cc|code|userinfo|login> [seconds]
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { glcScenario, runLoad, seedGlc, startGlcProcess } from './http.js';

const which = process.argv[2] ?? 'login';
const seconds = Number(process.argv[3] ?? 8);
const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU ticks (user + system) of every thread on the machine, keyed by a group name. */
function sample(glcPid: number): Map<string, number> {
  const groups = new Map<string, number>();
  const add = (key: string, ticks: number) => groups.set(key, (groups.get(key) ?? 0) + ticks);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number(pid) === glcPid) add(tid === pid ? 'GLC main thread' : `GLC thread ${Number(tid) - Number(pid)}`, ticks);
      else if (comm.startsWith('postgres')) add('PostgreSQL', ticks);
      else if (readCmdline(pid).includes('bench/load.ts')) add('load generator', ticks);
      else add(`other: ${comm}`, ticks);
    }
  }
  return groups;
}

function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

const seed = await seedGlc(16);
const glc = await startGlcProcess(seed, 1);
try {
  const scenario = await glcScenario(which, glc, seed, seconds);
  const load = runLoad(scenario);
  // The window skips the warm-up (residents signing in once) and the end.
  await new Promise((r) => setTimeout(r, 2500));
  const before = sample(glc.process.pid!);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, (seconds - 3.5) * 1000));
  const after = sample(glc.process.pid!);
  const window = (performance.now() - t0) / 1000;
  const result = await load;
  const used = [...after]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / ticksPerSecond / window] as const)
    .filter(([, cores]) => cores > 0.005)
    .sort((a, b) => b[1] - a[1]);
  const total = used.reduce((n, [, c]) => n + c, 0);
  console.log(`${which}: ${result.perSecond}/s over the whole run; window ${window.toFixed(1)} s; ${os.availableParallelism()} cores`);
  for (const [k, cores] of used) console.log(`  ${cores.toFixed(2)} cores  ${((100 * cores) / total).toFixed(0).padStart(3)} %  ${k}`);
  console.log(
    `  ${total.toFixed(2)} cores in all; per ${which === 'cc' || which === 'userinfo' ? 'request' : 'flow'}: ${((1000 * total) / result.perSecond).toFixed(1)} ms of CPU`,
  );
} finally {
  await glc.stop();
  await seed.drop();
}
process.exit(0);

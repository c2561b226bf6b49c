// A/B of one GLC setting: the same compiled GLC started twice, with and without the given
// environment, alternating rounds of one scenario. For deciding a change, not for the report:
//   npm run build && npx tsx bench/ab-env.ts cc|userinfo|code|login|start 'LOG_LEVEL=warn[;NAME=value…]' [seconds] [rounds]
// `start` compares cold starts to ready (the seconds argument is unused; rounds = starts per side).
// AB_WORKERS=2 runs both sides with two processes each. AB_B_ROOT=<checkout> runs side B from
// that checkout's build instead (another commit, built with `npm run build` there, on the same
// schema): before/after of a change that no setting can switch, e.g.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$PWD/node_modules" . && npm run build)
// Prints each side's rounds, RSS idle and peak, and the paired ratio B/A. Use an even number of rounds.
import path from 'node:path';
import { glcScenario, measuredLoad, medianCpu, pairedRatio, seedGlc, startGlcProcess, treeRss, type Target } from './http.js';
import type { LoadResult } from './load.js';

const which = process.argv[2] ?? 'cc';
// NAME=value pairs separated by ';' (a value may hold '=' and spaces: NODE_OPTIONS=--a=1 --b=2).
const env = Object.fromEntries(
  (process.argv[3] ?? '')
    .split(';')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
);
const seconds = Number(process.argv[4] ?? 3);
const rounds = Number(process.argv[5] ?? 3);
// Processes per side (GLC_WORKERS): 1 unless AB_WORKERS says otherwise.
const workers = Number(process.env.AB_WORKERS ?? 1);
const rootB = process.env.AB_B_ROOT ? path.resolve(process.env.AB_B_ROOT) : undefined;

const seed = await seedGlc(16);
const runsA: LoadResult[] = [];
const runsB: LoadResult[] = [];
const peak = { a: 0, b: 0 };
const idle = { a: 0, b: 0 };
try {
  if (which === 'start') {
    // Alternating starts, A first in even rounds: the second of two back-to-back starts finds the
    // files in the page cache warmer.
    const ms = { a: [] as number[], b: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 1 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
        const started = await startGlcProcess(seed, workers, side === 'b' ? env : {}, [], { root: side === 'b' ? rootB : undefined });
        ms[side].push(Math.round(started.coldStartMs));
        await started.stop();
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    console.log(
      `start: default ${ms.a.join(' ')} ms (median ${median(ms.a)}) | with ${JSON.stringify(env)}${rootB ? ` from ${rootB}` : ''} ${ms.b.join(' ')} ms (median ${median(ms.b)}) | B/A ${(median(ms.b) / median(ms.a)).toFixed(2)}`,
    );
  }
  // Fresh processes every round, started (and loaded) A first in even rounds, B first in odd ones:
  // with the same two processes kept for all rounds, a control with no change ('X_NOOP=1') gave
  // B/A × 1.25–1.33 in the code flow — the process started second ran faster, whatever the order
  // of the loads.
  for (let round = 0; which !== 'start' && round < rounds; round++) {
    const bFirst = round % 2 === 1;
    const startA = () => startGlcProcess(seed, workers, {});
    const startB = () => startGlcProcess(seed, workers, env, [], { root: rootB });
    const first = await (bFirst ? startB() : startA());
    const second = await (bFirst ? startA() : startB());
    const [a, b] = bFirst ? [second, first] : [first, second];
    try {
      idle.a = Math.max(idle.a, treeRss(a.process.pid!));
      idle.b = Math.max(idle.b, treeRss(b.process.pid!));
      const sampler = setInterval(() => {
        peak.a = Math.max(peak.a, treeRss(a.process.pid!));
        peak.b = Math.max(peak.b, treeRss(b.process.pid!));
      }, 250);
      const scenario = (t: Target) => glcScenario(which, t, seed, seconds);
      const [sa, sb] = [await scenario(a), await scenario(b)];
      if (bFirst) {
        runsB.push(await measuredLoad(b.process.pid, sb));
        runsA.push(await measuredLoad(a.process.pid, sa));
      } else {
        runsA.push(await measuredLoad(a.process.pid, sa));
        runsB.push(await measuredLoad(b.process.pid, sb));
      }
      clearInterval(sampler);
    } finally {
      await a.stop();
      await b.stop();
    }
  }
  const per = (runs: LoadResult[]) => runs.map((r) => Math.round(r.perSecond)).join(' ');
  // The server's own CPU per operation (main thread, other threads), median of the rounds: steadier
  // than throughput when a change is a few per cent and the machine is shared.
  const cpu = (runs: LoadResult[]) => {
    const ms = medianCpu(runs);
    if (!ms) return 'CPU not measured';
    return `CPU ms/op main ${ms['server main thread'].toFixed(3)}, threads ${ms['server other threads'].toFixed(3)}, PostgreSQL ${ms.PostgreSQL.toFixed(3)}`;
  };
  if (which !== 'start')
    console.log(
      `${which}: default ${per(runsA)} (RSS idle ${idle.a} MiB, peak ${peak.a} MiB; ${cpu(runsA)}) | with ${JSON.stringify(env)}${rootB ? ` from ${rootB}` : ''} ${per(runsB)} (RSS idle ${idle.b} MiB, peak ${peak.b} MiB; ${cpu(runsB)}) | paired B/A ${pairedRatio(runsB, runsA)}`,
    );
} finally {
  await seed.drop();
}

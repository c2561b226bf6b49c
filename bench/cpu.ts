// Where the machine's CPU goes while a scenario runs, read from /proc: the server's main
// threads (each cluster worker's too), its other threads (libuv's pool: argon2id, WebCrypto;
// V8's garbage collector), PostgreSQL, the load generator, and the rest. On a machine whose cores
// are shared by all of them, this says what a ratio to the bare library can reach at best.
import { readdirSync, readFileSync } from 'node:fs';

export type CpuGroup = 'server main thread' | 'server other threads' | 'PostgreSQL' | 'load generator' | 'other';
export const CPU_GROUPS: CpuGroup[] = ['server main thread', 'server other threads', 'PostgreSQL', 'load generator', 'other'];
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process or thread ended meanwhile
  }
}

/** The processes under `root` (itself included), from each process's parent in /proc. */
export function processTree(root: number): Set<number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (stat) parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [child, parent] of parents)
      if (tree.has(parent) && !tree.has(child)) {
        tree.add(child);
        grew = true;
      }
  }
  return tree;
}

/**
 * CPU seconds used so far by each thread of the machine (`pid/tid`), with its group; `server` is
 * the server's root process. Per thread, not per group: a thread that ends between two readings
 * (a PostgreSQL backend closed by an idle pool) must not take its whole past out of its group's sum.
 */
export type CpuReading = Map<string, { group: CpuGroup; seconds: number }>;

export function cpuSeconds(server: number | undefined): CpuReading {
  const serverTree = server === undefined ? new Set<number>() : processTree(server);
  const reading: CpuReading = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    const group: CpuGroup | undefined = serverTree.has(Number(pid))
      ? undefined // decided per thread below
      : (read(`/proc/${pid}/comm`) ?? '').startsWith('postgres')
        ? 'PostgreSQL'
        : (read(`/proc/${pid}/cmdline`) ?? '').includes('bench/load.ts')
          ? 'load generator'
          : 'other';
    for (const tid of tasks) {
      const stat = read(`/proc/${pid}/task/${tid}/stat`);
      if (!stat) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
      reading.set(`${pid}/${tid}`, { group: group ?? (tid === pid ? 'server main thread' : 'server other threads'), seconds });
    }
  }
  return reading;
}

/**
 * Milliseconds of CPU per operation in each group between two readings: the threads seen at the
 * second reading, less what they had used at the first (nothing for those started since). The
 * CPU of threads gone before the second reading is not counted. `extra`: seconds counted apart
 * (the load generator reports its own, having exited before the second reading).
 */
export function cpuPerOperation(
  before: CpuReading,
  after: CpuReading,
  operations: number,
  extra: Partial<Record<CpuGroup, number>> = {},
): Record<CpuGroup, number> {
  const used = new Map<CpuGroup, number>(CPU_GROUPS.map((g) => [g, extra[g] ?? 0]));
  for (const [thread, now] of after) used.set(now.group, used.get(now.group)! + now.seconds - (before.get(thread)?.seconds ?? 0));
  return Object.fromEntries(
    CPU_GROUPS.map((g) => [g, operations > 0 ? Math.round(((1000 * used.get(g)!) / operations) * 100) / 100 : 0]),
  ) as Record<CpuGroup, number>;
}

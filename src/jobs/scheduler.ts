// Periodic jobs inside the app. Each run takes a PostgreSQL advisory lock so that, with any
// number of instances, one runs it at a time; the others skip that turn. The scheduler owns the
// lock keys: each is derived from the job's unique name, so two jobs can never share one.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';

export interface Job {
  /** Unique across GLC: it names the job in logs and derives its advisory-lock key. */
  name: string;
  everyMs: number;
  run(now: Date): Promise<Record<string, unknown> | void>;
}

export interface JobStatus {
  name: string;
  everyMs: number;
  runs: number;
  /** Turns skipped because another instance (or run) held the lock. */
  skipped: number;
  failures: number;
  lastStartedAt?: Date;
  lastFinishedAt?: Date;
  lastResult?: Record<string, unknown>;
  lastError?: string;
  nextRunAt?: Date;
}

export interface Scheduler {
  status(): JobStatus[];
  stop(): Promise<void>;
}

/**
 * The advisory-lock key of a job: 48 bits of SHA-256 of its name (a safe integer, so it goes to
 * PostgreSQL's bigint unchanged). Code that must exclude a job's run (the CLI purge) uses the same key.
 */
export function jobLockKey(name: string): number {
  return createHash('sha256').update(`glc-job:${name}`).digest().readUIntBE(0, 6);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Refuses a job list with two jobs of one name (they would share a lock, and one would starve). */
export function checkJobs(jobs: readonly Job[]): void {
  const seen = new Set<string>();
  for (const job of jobs) {
    if (!/^[a-z0-9-]+$/.test(job.name)) throw new Error(`job name « ${job.name} »: lowercase letters, digits and dashes only`);
    if (seen.has(job.name)) throw new Error(`two jobs are named « ${job.name} »: job names must be unique`);
    // Node's timers hold 2^31-1 ms at most (24.8 days): a longer period would fire every millisecond.
    if (!(job.everyMs > 0 && job.everyMs <= MAX_TIMER_MS))
      throw new Error(`job « ${job.name} »: everyMs must be between 1 and ${MAX_TIMER_MS}`);
    seen.add(job.name);
  }
}

/** Runs `fn` holding the advisory lock, or returns { ran: false } if another instance holds it. */
export async function withAdvisoryLock<T>(
  db: Db,
  lockKey: number,
  fn: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${lockKey}::bigint) as locked`.execute(conn);
    if (!rows[0]?.locked) return { ran: false } as const;
    try {
      return { ran: true, value: await fn() } as const;
    } finally {
      await sql`select pg_advisory_unlock(${lockKey}::bigint)`.execute(conn);
    }
  });
}

export interface SchedulerOptions {
  /** Delay before each job's first turn (spread so that instances starting together do not collide). */
  firstRunAfterMs?: number;
  /** Told of every turn (metrics). */
  onTurn?: (job: string, outcome: 'done' | 'skipped' | 'failed') => void;
}

export function startScheduler(db: Db, log: Logger, jobs: readonly Job[], options: SchedulerOptions = {}): Scheduler {
  checkJobs(jobs);
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const statuses = new Map<string, JobStatus>();
  let stopped = false;
  // Turns run one after another in an instance, and a job waiting for its turn or running is not
  // queued again. Each turn holds a pooled connection (its lock) for its whole run: the jobs of a
  // start, all due together, held most of the pool while their own queries waited for it, and a
  // step taking a lock at the same time (the demo service's) could then wait forever.
  let lastTurn: Promise<unknown> = Promise.resolve();
  const firstRunAfterMs = options.firstRunAfterMs ?? 1000;
  const onTurn = options.onTurn ?? (() => undefined);
  for (const job of jobs) {
    const status: JobStatus = {
      name: job.name,
      everyMs: job.everyMs,
      runs: 0,
      skipped: 0,
      failures: 0,
      nextRunAt: new Date(Date.now() + firstRunAfterMs),
    };
    statuses.set(job.name, status);
    const lockKey = jobLockKey(job.name);
    let pending = false;
    const tick = () => {
      if (stopped || pending) return;
      pending = true;
      status.nextRunAt = new Date(Date.now() + job.everyMs);
      const p = lastTurn
        .then(() =>
          stopped
            ? ({ ran: false } as const)
            : withAdvisoryLock(db, lockKey, async () => {
                status.lastStartedAt = new Date();
                return job.run(status.lastStartedAt);
              }),
        )
        .then((r) => {
          onTurn(job.name, r.ran ? 'done' : 'skipped');
          if (!r.ran) {
            status.skipped += 1;
            return;
          }
          status.runs += 1;
          status.lastFinishedAt = new Date();
          status.lastResult = r.value ?? {};
          status.lastError = undefined;
          if (r.value) log.info({ job: job.name, ...r.value }, 'job done');
        })
        .catch((err: Error) => {
          onTurn(job.name, 'failed');
          status.failures += 1;
          status.lastFinishedAt = new Date();
          status.lastError = err.message;
          log.error({ job: job.name, err: { name: err.name, message: err.message } }, 'job failed');
        })
        .finally(() => {
          pending = false;
          running.delete(p);
        });
      lastTurn = p;
      running.add(p);
    };
    timers.push(setInterval(tick, job.everyMs).unref());
    timers.push(setTimeout(tick, firstRunAfterMs).unref());
  }
  return {
    status: () => [...statuses.values()].map((s) => ({ ...s })),
    stop: async () => {
      stopped = true;
      timers.forEach(clearTimeout);
      await Promise.all(running);
    },
  };
}

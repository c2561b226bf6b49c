// Periodic jobs inside the app. Each run takes a PostgreSQL advisory lock so that, with any
// number of instances, one runs it at a time; the others skip that turn.
import { sql } from 'kysely';
import { isEmbedded, type Db } from '../db/database.js';
import type { Logger } from '../log.js';

export interface Job {
  name: string;
  everyMs: number;
  /** Stable number for pg_try_advisory_lock. */
  lockId: number;
  run(now: Date): Promise<Record<string, unknown> | void>;
}

// The embedded database has one connection: holding it for the lock would starve the job's own
// queries. It also serves one process only, so an in-process lock is enough there.
const embeddedLocks = new Set<number>();

/** Runs `fn` holding the advisory lock, or returns { ran: false } if another instance holds it. */
export async function withAdvisoryLock<T>(db: Db, lockId: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  if (isEmbedded(db)) {
    if (embeddedLocks.has(lockId)) return { ran: false };
    embeddedLocks.add(lockId);
    try {
      return { ran: true, value: await fn() };
    } finally {
      embeddedLocks.delete(lockId);
    }
  }
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${lockId}) as locked`.execute(conn);
    if (!rows[0]?.locked) return { ran: false } as const;
    try {
      return { ran: true, value: await fn() } as const;
    } finally {
      await sql`select pg_advisory_unlock(${lockId})`.execute(conn);
    }
  });
}

export function startScheduler(db: Db, log: Logger, jobs: Job[], onTurn: (job: string, outcome: 'done' | 'skipped' | 'failed') => void = () => undefined): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  for (const job of jobs) {
    const tick = () => {
      if (stopped) return;
      const p = withAdvisoryLock(db, job.lockId, () => job.run(new Date()))
        .then((r) => {
          onTurn(job.name, r.ran ? 'done' : 'skipped');
          if (r.ran && r.value) log.info({ job: job.name, ...r.value }, 'job done');
        })
        .catch((err: Error) => {
          onTurn(job.name, 'failed');
          log.error({ job: job.name, err: { name: err.name, message: err.message } }, 'job failed');
        })
        .finally(() => running.delete(p));
      running.add(p);
    };
    timers.push(setInterval(tick, job.everyMs).unref());
    setTimeout(tick, 1000).unref();
  }
  return async () => {
    stopped = true;
    timers.forEach(clearInterval);
    await Promise.all(running);
  };
}

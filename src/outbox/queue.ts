// Nothing lost: outgoing mail (SMTP) and back-channel logout deliveries go through a durable
// queue in PostgreSQL (pg-boss, schema `pgboss`). A job is stored before anything is sent,
// delivered by the workers of any GLC instance (each job once: pg-boss claims with SKIP LOCKED),
// retried with exponential backoff, and after the last try moved to a dead-letter queue that
// operators see with `glc queue status`.
//
// The mail payload is personal data (address, links): it holds only what the template needs,
// completed jobs are deleted a minute after delivery, dead letters after DEAD_LETTER_DAYS.
import { CompiledQuery, sql, type Transaction } from 'kysely';
import type { Job, PgBoss, SendOptions } from 'pg-boss';
import type { Db } from '../db/database.js';
import { connectionStringOf } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { Mailer } from '../mail/mailer.js';

export const MAIL_QUEUE = 'mail';
export const LOGOUT_QUEUE = 'backchannel-logout';
const QUEUES = [MAIL_QUEUE, LOGOUT_QUEUE] as const;
export type QueueName = (typeof QUEUES)[number];
export const deadLetterOf = (queue: QueueName) => `${queue}-failed`;

/** Dead letters (personal data for mail) are kept this long for operators, then deleted. */
export const DEAD_LETTER_DAYS = 7;
/** Completed (and failed, once dead-lettered) jobs are deleted this long after they end. */
const DELETE_AFTER_SECONDS = 60;
/** How often each queue's deletion sweep runs (pg-boss's default is a day). */
const MAINTENANCE_SECONDS = 120;
const RETRY_DELAY_MAX_SECONDS = 3600;

export interface MailJob {
  to: string;
  template: string;
  vars: Record<string, unknown>;
}
export interface LogoutJob {
  clientId: string;
  accountId: string;
  sid: string;
}

export interface QueueStatus {
  queue: string;
  /** Waiting to be sent, including retries whose time has not come. */
  queued: number;
  active: number;
  /** Failed jobs still stored (they are copied to the dead-letter queue). */
  failed: number;
  /** Gave up after every retry: waiting in the dead-letter queue for an operator. */
  deadLetters: number;
}

export interface Outbox {
  /** Creates pg-boss's schema and the queues (idempotent, safe with several instances). */
  start(): Promise<void>;
  /** Starts this instance's workers. */
  work(handlers: { mail: (job: MailJob) => Promise<void>; logout: (job: LogoutJob) => Promise<void> }): Promise<void>;
  /** Stores a mail to send; with trx, in that transaction (sent only if it commits). */
  enqueueMail(job: MailJob, trx?: Transaction<Database>): Promise<void>;
  enqueueLogout(job: LogoutJob, trx?: Transaction<Database>): Promise<void>;
  status(): Promise<QueueStatus[]>;
  /** Dead letters back into their queue for new tries. */
  retryDeadLetters(queue: QueueName): Promise<number>;
  /** Waits for jobs in hand (10 s at most), then closes pg-boss's connections. */
  stop(): Promise<void>;
}

export function createOutbox(deps: { db: Db; log: Logger; retryLimit: number; retryDelaySeconds: number }): Outbox {
  const { log } = deps;
  // Made when the queue starts (after the server listens): loading pg-boss is about a tenth of
  // GLC's cold start, which it has no part in.
  let boss: PgBoss | undefined;
  let started: Promise<PgBoss> | undefined;
  let stopped = false;

  const queueOptions = {
    retryLimit: deps.retryLimit,
    retryDelay: deps.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: RETRY_DELAY_MAX_SECONDS,
    expireInSeconds: 900,
    retentionSeconds: 14 * 86_400,
    deleteAfterSeconds: DELETE_AFTER_SECONDS,
  };

  async function ensureQueue(boss: PgBoss, name: string, options: Record<string, unknown>): Promise<void> {
    if (await boss.getQueue(name)) {
      await boss.updateQueue(name, options);
      return;
    }
    try {
      await boss.createQueue(name, options);
    } catch (err) {
      // Another instance created it meanwhile.
      if (!(await boss.getQueue(name))) throw err;
      await boss.updateQueue(name, options);
    }
  }

  async function send(name: QueueName, data: object, trx?: Transaction<Database>): Promise<void> {
    const boss = await ready();
    const options: SendOptions = trx ? { db: executor(trx) } : {};
    await boss.send(name, data, options);
  }

  /** pg-boss started, its schema and queues made: once, on first need. */
  const ready = (): Promise<PgBoss> => (started ??= start());

  async function start(): Promise<PgBoss> {
    const { PgBoss } = await import('pg-boss');
    const created = new PgBoss({
      connectionString: connectionStringOf(deps.db),
      max: 4,
      application_name: 'glc-queue',
      schedule: false, // periodic jobs stay with GLC's scheduler
      maintenanceIntervalSeconds: MAINTENANCE_SECONDS,
    });
    boss = created;
    // Connection trouble is logged, never fatal: jobs wait in the database.
    created.on('error', (err: Error) => log.error({ err: { name: err.name, message: err.message } }, 'queue error'));
    await created.start();
    for (const name of QUEUES) {
      await ensureQueue(created, deadLetterOf(name), {
        retentionSeconds: DEAD_LETTER_DAYS * 86_400,
        deleteAfterSeconds: DELETE_AFTER_SECONDS,
      });
      await ensureQueue(created, name, { ...queueOptions, deadLetter: deadLetterOf(name) });
    }
    return created;
  }

  return {
    start: async () => void (await ready()),
    async work(handlers) {
      const boss = await ready();
      const run = <T>(name: QueueName, handler: (data: T) => Promise<void>) =>
        boss.work<T>(name, { batchSize: 1, localConcurrency: 4, pollingIntervalSeconds: 1 }, async ([job]: Job<T>[]) => {
          if (job) await handler(job.data);
        });
      await run<EncodedMail>(MAIL_QUEUE, (data) => handlers.mail(decodeMail(data)));
      await run<LogoutJob>(LOGOUT_QUEUE, handlers.logout);
    },
    enqueueMail: (job, trx) => send(MAIL_QUEUE, encodeMail(job), trx),
    enqueueLogout: (job, trx) => send(LOGOUT_QUEUE, job, trx),
    async status() {
      await ready();
      // Live counts from the job table (pg-boss's own queue counters are refreshed by its monitor).
      const { rows } = await sql<{ name: string; state: string; n: number }>`
        select name, state::text as state, count(*)::int as n from pgboss.job
        where name in (${sql.join([...QUEUES, ...QUEUES.map(deadLetterOf)])}) group by name, state`.execute(deps.db);
      const count = (name: string, states: string[]) =>
        rows.filter((r) => r.name === name && states.includes(r.state)).reduce((a, r) => a + r.n, 0);
      return QUEUES.map((name) => ({
        queue: name,
        queued: count(name, ['created', 'retry']),
        active: count(name, ['active']),
        failed: count(name, ['failed']),
        deadLetters: count(deadLetterOf(name), ['created', 'retry', 'active', 'failed']),
      }));
    },
    async retryDeadLetters(queue) {
      const boss = await ready();
      return boss.redrive(deadLetterOf(queue), { destination: queue, limit: 100_000 });
    },
    async stop() {
      if (stopped || !started) return;
      stopped = true;
      await started.catch(() => undefined);
      // Also after a failed start: pg-boss may hold connections already.
      await boss?.stop({ graceful: true, timeout: 10_000, close: true });
    },
  };
}

/** pg-boss's send inside a Kysely transaction: same connection, same commit. */
function executor(trx: Transaction<Database>) {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

// JSON turns dates into strings; templates format dates (day_fr): mark them to revive them.
interface EncodedMail {
  to: string;
  template: string;
  vars: Record<string, unknown>;
}
function encodeMail(job: MailJob): EncodedMail {
  const vars = Object.fromEntries(Object.entries(job.vars).map(([k, v]) => [k, v instanceof Date ? { $date: v.toISOString() } : v]));
  return { to: job.to, template: job.template, vars };
}
function decodeMail(data: EncodedMail): MailJob {
  const vars = Object.fromEntries(
    Object.entries(data.vars).map(([k, v]) => {
      const date = v && typeof v === 'object' && '$date' in v ? (v as { $date: unknown }).$date : undefined;
      return [k, typeof date === 'string' ? new Date(date) : v];
    }),
  );
  return { to: data.to, template: data.template, vars };
}

/** The queue's mail worker: one attempt; a failure is logged (no address: SMTP replies may quote it) and retried. */
export async function deliverMail(transport: Mailer, log: Logger, job: MailJob): Promise<void> {
  try {
    await transport.send(job.to, job.template, job.vars);
  } catch (err) {
    const e = err as { code?: string; responseCode?: number };
    log.warn({ event: 'mail_failed', template: job.template, code: e.code, responseCode: e.responseCode }, 'mail not sent, will retry');
    throw err;
  }
}

/** The mailer the domains use with SMTP: every message goes through the queue. */
export function queuedMailer(outbox: Outbox): Mailer {
  return {
    send: (to, template, vars) => outbox.enqueueMail({ to, template, vars }),
    sendInTransaction: (trx, to, template, vars) => outbox.enqueueMail({ to, template, vars }, trx),
  };
}

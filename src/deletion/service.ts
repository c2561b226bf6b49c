// The one account-deletion routine (self-deletion, inactivity purge, operator), the inactivity
// warnings and purge, and the rules of the deleted-accounts feed.
import type { StatisticsService } from '../statistics/service.js';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type Provider from 'oidc-provider';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { Mailer } from '../mail/mailer.js';
import type { KeyStore } from '../oidc/keys.js';
import type { Outbox } from '../outbox/queue.js';
import { subjectOfRegistration } from '../oidc/subjects.js';
import { liveSessionsOf, logoutTargetsOf, queueBackchannelLogouts } from '../oidc/sessions.js';
import { jobLockKey, withAdvisoryLock } from '../jobs/scheduler.js';
import { ACCOUNT_CLIENT_ID } from '../accounts/account-client.js';
import { createSecurityEvents, type SecurityEvents } from './security-events.js';
import { createDeletionStore, type AccountToDelete, type DeletionReason, type DeletionStore } from './store.js';

export type { DeletionReason } from './store.js';

/** Runs inside the deleting transaction, once per account, before the account row goes. */
export type DeletionCleanup = (trx: Transaction<Database>, accountId: string, now: Date) => Promise<void>;
/** The same, once per batch of accounts (faster for the purge of many accounts). */
export type DeletionBatchCleanup = (trx: Transaction<Database>, accountIds: string[], now: Date) => Promise<void>;

export interface DeletionResult {
  deleted: string[];
  records: number;
}

export interface PurgeReport {
  now: string;
  dryRun: boolean;
  /** Warnings sent (or, in a dry run, to send), by number of days before deletion. */
  warned: Record<string, number>;
  /** Accounts reaching a warning stage that have no verified email: they cannot be warned. */
  cannotBeWarned: number;
  warningsFailed: number;
  deleted: number;
  /** Due for deletion when the run started but not deleted by it: used again meanwhile, or taken by another run. */
  skipped: number;
  /** Accounts whose deletion failed (left intact; the next run retries). */
  failed: number;
  staleWarningsRemoved: number;
  recordsExpired: number;
  ms: number;
}

export interface DeletionService {
  /** Deletes everything of the account in one transaction and records what communes must learn. Absent account: no-op. */
  deleteAccount(accountId: string, reason: DeletionReason, now: Date): Promise<{ deleted: boolean; records: number }>;
  /** The same routine for several accounts at once (one transaction). */
  deleteAccounts(accountIds: string[], reason: DeletionReason, now: Date): Promise<DeletionResult>;
  /** A service obtained the account's `sub` (recorded once per service). */
  recordSubject(accountId: string, clientId: string, sub: string, now: Date): Promise<void>;
  /** Warnings and deletion of inactive accounts, on one instance at a time (advisory lock). Undefined when another run holds the lock. */
  purgeInactive(now: Date, options?: { dryRun?: boolean; batchSize?: number; workers?: number }): Promise<PurgeReport | undefined>;
  /** The same without the lock (the job and the CLI go through purgeInactive). */
  runPurge(now: Date, options?: { dryRun?: boolean; batchSize?: number; workers?: number }): Promise<PurgeReport>;
  /** Records older than DELETED_ACCOUNTS_RETENTION_DAYS are removed. */
  expireRecords(now: Date): Promise<number>;
  /** The same page with its items as a JSON array (built by the database: the API's hot path). */
  feedPageJson(clientId: string, afterId: number, limit: number): Promise<{ items: string; lastId: number | null; hasMore: boolean }>;
  feedStartSince(clientId: string, since: Date): Promise<number>;
  /** The same records as signed Security Event Tokens, delivered by poll with acknowledgements (RFC 8936). */
  securityEvents: SecurityEvents;
  store: DeletionStore;
}

/** The daily job's name; the CLI's purge takes the same lock, so that one purge runs at a time. */
export const PURGE_JOB_NAME = 'inactivity-purge';
export const PURGE_LOCK_ID = jobLockKey(PURGE_JOB_NAME);
const DAY_MS = 86_400_000;
const MAX_CONSECUTIVE_FAILURES = 20;
/** Concurrent batches of the purge (each its own transaction and connection; the pool has 10). */
const PURGE_WORKERS = 4;
const MAIL_CONCURRENCY = 8;

/** « deux ans », « un an », « 400 jours » */
export function durationFr(days: number): string {
  const words = ['', 'un', 'deux', 'trois', 'quatre', 'cinq'];
  if (days % 365 === 0 && days / 365 < words.length) return `${words[days / 365]} an${days === 365 ? '' : 's'}`;
  return `${days} jours`;
}

/** What the deletion service uses, and nothing more. */
export interface DeletionDeps {
  db: Db;
  config: Pick<Config, 'issuer' | 'inactivity'>;
  log: Logger;
  secrets: Pick<Secrets, 'hmac'>;
  mailer: Mailer;
  keys: Pick<KeyStore, 'privateJwks'>;
  /** The provider in use (it changes on key rotation): back-channel logout. */
  currentProvider(): Provider;
  /** Back-channel logouts are queued in the deleting transaction. */
  outbox: Pick<Outbox, 'enqueueLogout'>;
  /**
   * Run inside the deleting transaction, before the account rows go: the domains whose rows must
   * be erased or pseudonymised with the account (consent journal, throttling counters).
   */
  batchCleanups: readonly DeletionBatchCleanup[];
  /** Anonymous counts of deletions (by cause) and warnings, in the deleting transaction. */
  statistics?: Pick<StatisticsService, 'count'>;
  /** The same, once per account (slower; for rows that cannot be handled set-based). */
  cleanups?: readonly DeletionCleanup[];
}

const STATISTICS_CAUSE: Record<DeletionReason, 'self' | 'inactivity' | 'staff'> = {
  user_request: 'self',
  inactivity: 'inactivity',
  operator: 'staff',
};

export function createDeletionService(s: DeletionDeps): DeletionService {
  const store = createDeletionStore(s.db);
  const recordedSubjects = new Set<string>();
  const cleanups = s.cleanups ?? [];
  const batchCleanups = s.batchCleanups;
  const { deleteAfterDays, warnDays, deletedAccountsRetentionDays } = s.config.inactivity;

  /** Everything of the accounts in one transaction; returns what to do once committed. */
  async function deleteInTransaction(trx: Transaction<Database>, accounts: AccountToDelete[], reason: DeletionReason, now: Date) {
    const ids = accounts.map((a) => a.id);
    // Which services knew each account: recorded subjects, plus services holding a grant.
    const known = new Map<string, { clientId: string; sub: string }>();
    for (const r of await store.subjectsOf(trx, ids)) known.set(`${r.account_id}|${r.client_id}`, { clientId: r.client_id, sub: r.sub });
    for (const g of await store.grantClientsOf(trx, ids)) {
      const key = `${g.account_id}|${g.client_id}`;
      if (known.has(key) || g.client_id === ACCOUNT_CLIENT_ID) continue;
      const sub = subjectOfRegistration(s.secrets, g.metadata as Record<string, unknown>, g.account_id);
      if (sub) known.set(key, { clientId: g.client_id, sub });
    }
    // Back-channel logout targets, read before the sessions go.
    const targets = logoutTargetsOf(await liveSessionsOf(trx, ids), { except: ACCOUNT_CLIENT_ID });
    for (const fn of batchCleanups) await fn(trx, ids, now);
    for (const id of ids) for (const fn of cleanups) await fn(trx, id, now);
    await store.deleteProtocolRows(trx, ids);
    const deleted = new Set(await store.deleteAccountRows(trx, ids));
    const records = [...known.entries()].filter(([key]) => deleted.has(key.slice(0, key.indexOf('|')))).map(([, v]) => v);
    await store.appendRecords(trx, records, reason, now);
    const gone = accounts.filter((a) => deleted.has(a.id));
    await s.statistics?.count({ kind: 'deletion', detail: STATISTICS_CAUSE[reason], by: gone.length }, now, trx);
    // Back-channel logouts and (with SMTP) the notices are queued in this transaction: they go
    // out, with retries, if and only if the deletion commits.
    await queueBackchannelLogouts(
      s,
      targets.filter((t) => deleted.has(t.accountId)),
      trx,
    );
    const notified = s.mailer.sendInTransaction ? await queueNotices(trx, gone, reason) : false;
    return { deleted: gone, records: records.length, notified };
  }

  // Only to a verified address: the notice must not go to someone who never owned the account.
  const noticeRecipients = (deleted: AccountToDelete[]) => deleted.flatMap((a) => (a.email && a.email_verified_at ? [a.email] : []));
  const noticeVars = (reason: DeletionReason) => ({
    reason,
    inactivity: durationFr(deleteAfterDays),
    signUpUrl: `${s.config.issuer}/compte`,
    helpUrl: `${s.config.issuer}/aide`,
  });

  async function queueNotices(trx: Transaction<Database>, deleted: AccountToDelete[], reason: DeletionReason): Promise<true> {
    for (const email of noticeRecipients(deleted)) await s.mailer.sendInTransaction!(trx, email, 'account-deleted', noticeVars(reason));
    return true;
  }

  /** After commit, without SMTP (development mailbox, written at once): the notices. */
  async function afterCommit(result: Awaited<ReturnType<typeof deleteInTransaction>>, reason: DeletionReason): Promise<void> {
    if (result.notified) return;
    const recipients = noticeRecipients(result.deleted);
    for (let i = 0; i < recipients.length; i += MAIL_CONCURRENCY) {
      await Promise.all(
        recipients.slice(i, i + MAIL_CONCURRENCY).map(async (email) => {
          try {
            await s.mailer.send(email, 'account-deleted', noticeVars(reason));
          } catch (err) {
            s.log.warn({ event: 'account_deleted_mail_failed', error: (err as Error).message }, 'deletion notice not sent');
          }
        }),
      );
    }
  }

  async function deleteAccounts(accountIds: string[], reason: DeletionReason, now: Date): Promise<DeletionResult> {
    const ids = [...new Set(accountIds)].filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
    if (!ids.length) return { deleted: [], records: 0 };
    const result = await s.db.transaction().execute(async (trx) => {
      const accounts = await store.lockAccounts(trx, ids);
      return accounts.length ? deleteInTransaction(trx, accounts, reason, now) : undefined;
    });
    if (!result) return { deleted: [], records: 0 };
    s.log.info({ event: 'accounts_deleted', reason, accounts: result.deleted.length, records: result.records }, 'accounts deleted');
    await afterCommit(result, reason);
    return { deleted: result.deleted.map((a) => a.id), records: result.records };
  }

  async function sendWarnings(now: Date, dryRun: boolean, batchSize: number, report: PurgeReport): Promise<void> {
    const dueCutoff = new Date(now.getTime() - deleteAfterDays * DAY_MS);
    // Nearest stage first: an account entering the 7-day stage unwarned gets that warning only.
    for (const days of [...warnDays].sort((a, b) => a - b)) {
      if (days <= 0 || days >= deleteAfterDays) continue;
      const from = new Date(now.getTime() - (deleteAfterDays - days) * DAY_MS);
      report.cannotBeWarned += await store.countWarnable(days, from, dueCutoff, false);
      if (dryRun) {
        report.warned[days] = await store.countWarnable(days, from, dueCutoff, true);
        continue;
      }
      report.warned[days] = 0;
      for (;;) {
        const claimed = await store.claimWarnings(days, from, dueCutoff, now, batchSize);
        if (!claimed.length) break;
        const accounts = await store.emailsOf(claimed.map((c) => c.account_id));
        for (const c of claimed) {
          const account = accounts.find((a) => a.id === c.account_id);
          try {
            if (!account?.email) throw new Error('account gone');
            await s.mailer.send(account.email, 'inactivity-warning', {
              deletionDate: new Date(c.activity_at.getTime() + deleteAfterDays * DAY_MS),
              inactivity: durationFr(deleteAfterDays),
              loginUrl: `${s.config.issuer}/compte`,
              helpUrl: `${s.config.issuer}/aide`,
            });
            report.warned[days]! += 1;
            await s.statistics?.count({ kind: 'inactivity_warning' }, now);
          } catch (err) {
            // Not sent: the claim is withdrawn so that the next run tries again.
            await store.unclaimWarning(c.account_id, days, c.activity_at);
            report.warningsFailed += 1;
            s.log.warn({ event: 'inactivity_warning_failed', error: (err as Error).message }, 'inactivity warning not sent');
          }
        }
        if (claimed.length < batchSize) break;
      }
    }
  }

  async function deleteInactive(now: Date, batchSize: number, workers: number, report: PurgeReport): Promise<void> {
    const cutoff = new Date(now.getTime() - deleteAfterDays * DAY_MS);
    const due = await store.countInactive(cutoff);
    const failedIds: string[] = [];
    let consecutiveFailures = 0;
    /** One transaction: lock (re-checking inactivity against the cutoff), delete, record. */
    const deleteLocked = (pick: (trx: Transaction<Database>) => Promise<AccountToDelete[]>) =>
      s.db.transaction().execute(async (trx) => {
        const accounts = await pick(trx);
        return {
          selected: accounts.length,
          result: accounts.length ? await deleteInTransaction(trx, accounts, 'inactivity', now) : undefined,
        };
      });
    /** Retry of a rolled-back batch account by account: one account that cannot be deleted stays intact, the others go. */
    const oneByOne = async (): Promise<boolean> => {
      const ids = await store.inactiveIds(cutoff, batchSize, failedIds);
      if (!ids.length) return false;
      for (const id of ids) {
        try {
          const one = await deleteLocked((trx) => store.lockAccounts(trx, [id], { inactiveSince: cutoff, skipLocked: true }));
          if (one.result) {
            report.deleted += one.result.deleted.length;
            await afterCommit(one.result, 'inactivity');
          }
          consecutiveFailures = 0;
        } catch (e) {
          failedIds.push(id);
          report.failed += 1;
          s.log.error({ event: 'purge_account_failed', error: (e as Error).message }, 'inactive account not deleted');
          if (++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) throw e;
        }
      }
      return true;
    };
    // Workers take disjoint batches (FOR UPDATE SKIP LOCKED): the database works while Node waits.
    const worker = async () => {
      for (;;) {
        let batch: Awaited<ReturnType<typeof deleteLocked>>;
        try {
          batch = await deleteLocked((trx) => store.lockInactive(trx, cutoff, batchSize, failedIds));
        } catch (err) {
          s.log.warn({ event: 'purge_batch_failed', error: (err as Error).message }, 'purge batch rolled back; retrying one by one');
          if (!(await oneByOne())) return;
          continue;
        }
        if (!batch.result) return;
        report.deleted += batch.result.deleted.length;
        s.log.info(
          { event: 'purge_batch', accounts: batch.result.deleted.length, records: batch.result.records },
          'inactive accounts deleted',
        );
        await afterCommit(batch.result, 'inactivity');
        if (batch.selected < batchSize) return;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
    report.skipped = Math.max(0, due - report.deleted - report.failed);
  }

  async function runPurge(now: Date, options: { dryRun?: boolean; batchSize?: number; workers?: number } = {}): Promise<PurgeReport> {
    const started = Date.now();
    const dryRun = options.dryRun === true;
    const batchSize = options.batchSize ?? 500;
    const report: PurgeReport = {
      now: now.toISOString(),
      dryRun,
      warned: {},
      cannotBeWarned: 0,
      warningsFailed: 0,
      deleted: 0,
      skipped: 0,
      failed: 0,
      staleWarningsRemoved: 0,
      recordsExpired: 0,
      ms: 0,
    };
    if (dryRun) {
      await sendWarnings(now, true, batchSize, report);
      report.deleted = await store.countInactive(new Date(now.getTime() - deleteAfterDays * DAY_MS));
    } else {
      report.staleWarningsRemoved = await store.deleteStaleWarnings();
      await deleteInactive(now, batchSize, options.workers ?? PURGE_WORKERS, report);
      await sendWarnings(now, false, batchSize, report);
      report.recordsExpired = await expireRecords(now);
    }
    report.ms = Date.now() - started;
    s.log.info({ event: 'inactivity_purge', ...report }, dryRun ? 'inactivity purge (dry run)' : 'inactivity purge');
    return report;
  }

  function expireRecords(now: Date): Promise<number> {
    return store.deleteRecordsBefore(new Date(now.getTime() - deletedAccountsRetentionDays * DAY_MS));
  }

  return {
    store,
    async deleteAccount(accountId, reason, now) {
      const r = await deleteAccounts([accountId], reason, now);
      return { deleted: r.deleted.length > 0, records: r.records };
    },
    deleteAccounts,
    async recordSubject(accountId, clientId, sub, now) {
      if (clientId === ACCOUNT_CLIENT_ID) return;
      // The row never changes once written (insert … do nothing) and account ids are never
      // reused: a pair this process already recorded needs no round trip on every authorization.
      const key = `${accountId}|${clientId}`;
      if (recordedSubjects.has(key)) return;
      await store.recordSubject(accountId, clientId, sub, now);
      if (recordedSubjects.size >= 100_000) recordedSubjects.clear();
      recordedSubjects.add(key);
    },
    async purgeInactive(now, options) {
      const r = await withAdvisoryLock(s.db, PURGE_LOCK_ID, () => runPurge(now, options));
      return r.ran ? r.value : undefined;
    },
    runPurge,
    expireRecords,
    feedPageJson: (clientId, afterId, limit) => store.feedPageJson(clientId, afterId, limit),
    feedStartSince: (clientId, since) => store.idBefore(clientId, since),
    securityEvents: createSecurityEvents(s, store),
  };
}

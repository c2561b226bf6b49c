// Anonymous usage statistics (issue 14): daily counters, keyed by day, service and kind.
// Nothing that identifies a resident is ever passed here: the events carry no account, IP or
// time finer than the day (the day is derived here, in Europe/Paris).
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { createStatisticsStore, type DailyRow, type Executor } from './store.js';
import { buildPublication, publicationStart, type Publication } from './publication.js';

/** What is counted; `detail` narrows the kind (method, cause, claim…). */
export type StatisticsEvent =
  | { kind: 'login'; clientId: string | null; detail: 'password' | 'franceconnect' }
  | { kind: 'login_failed'; clientId: string | null; detail: 'invalid' | 'blocked' | 'unverified' }
  | { kind: 'signup'; clientId: string | null; detail: 'started' | 'confirmed' | 'franceconnect' }
  | { kind: 'franceconnect_link'; clientId: string | null; detail: 'automatic' | 'manual' | 'account_area' }
  | { kind: 'franceconnect_certification'; clientId: string | null }
  | { kind: 'consent'; clientId: string; detail: 'shown' | 'accepted' | 'refused' }
  | { kind: 'consent_optional'; clientId: string; detail: string }
  | { kind: 'deletion'; detail: 'self' | 'inactivity' | 'staff'; by?: number }
  | { kind: 'inactivity_warning'; by?: number }
  | { kind: 'api_poll'; clientId: string; detail: 'deleted_accounts' | 'security_events' };

export const STATISTICS_PURGE_JOB = 'statistics-purge';

const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });
/** 'YYYY-MM-DD' in Europe/Paris: the finest time a statistic ever holds. */
export const dayOf = (now: Date): string => dayFormat.format(now);

export interface StatisticsService {
  /**
   * Adds one (or `by`) to the day's counter. With `trx`, inside the caller's transaction (it
   * commits or rolls back with the work); without, right after the work, and a failure is logged
   * but never fails the resident's request.
   */
  count(event: StatisticsEvent, now: Date, trx?: Executor): Promise<void>;
  rows(from: string, to: string, clientIds?: readonly string[]): Promise<DailyRow[]>;
  accountFigures(now: Date): Promise<{ active30: number; active365: number; certified: number }>;
  /** The published tables (suppression applied) of the 30 days and 12 months ending today. */
  publish(now: Date): Promise<Publication>;
  /** The services of the same organisation as `clientId` (a commune's own services), itself included. */
  servicesOf(clientId: string): Promise<string[]>;
  /** Deletes the aggregates older than the retention period; returns how many rows went. */
  purge(now: Date): Promise<number>;
  readonly minCount: number;
}

export interface StatisticsDeps {
  db: Db;
  log: Logger;
  config: { statistics: Config['statistics'] };
}

export function createStatisticsService(s: StatisticsDeps): StatisticsService {
  const store = createStatisticsStore(s.db);
  const keyOf = (e: StatisticsEvent, now: Date) => ({
    day: dayOf(now),
    clientId: 'clientId' in e ? e.clientId : null,
    kind: e.kind,
    detail: 'detail' in e ? e.detail : '',
  });
  return {
    minCount: s.config.statistics.minCount,
    async count(event, now, trx) {
      const by = 'by' in event && event.by !== undefined ? event.by : 1;
      if (by <= 0) return;
      if (trx) return store.increment(trx, keyOf(event, now), by);
      try {
        await store.increment(s.db, keyOf(event, now), by);
      } catch (err) {
        s.log.warn({ event: 'statistics_count_failed', kind: event.kind, error: (err as Error).message }, 'statistics not counted');
      }
    },
    rows: (from, to, clientIds) => store.rows(from, to, clientIds),
    async publish(now) {
      const to = dayOf(now);
      const [rows, clients] = await Promise.all([store.rows(publicationStart(to), to), store.clients()]);
      return buildPublication(rows, to, new Map(clients.map((c) => [c.client_id, c.name])), s.config.statistics.minCount);
    },
    async servicesOf(clientId) {
      const clients = await store.clients();
      const org = clients.find((c) => c.client_id === clientId)?.organisation;
      return clients.filter((c) => c.client_id === clientId || (org && c.organisation === org)).map((c) => c.client_id);
    },
    accountFigures: (now) => store.accountFigures(now),
    purge: (now) => store.purgeBefore(dayOf(new Date(now.getTime() - s.config.statistics.retentionDays * 86_400_000))),
  };
}

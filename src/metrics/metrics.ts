// Prometheus metrics of one GLC process (prom-client). One registry per instance (tests run
// several in one process); in cluster mode the primary adds up its workers' (./cluster.ts).
// Labels are low-cardinality by construction: route patterns, never raw paths or identifiers.
import { answerClusterCollects } from './cluster.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type LoginMethod = 'password' | 'franceconnect';
export type LoginOutcome = 'success' | 'invalid' | 'blocked' | 'unverified';
export type ConsentDecision = 'granted' | 'extended' | 'reused' | 'cancelled';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface Metrics {
  registry: Registry;
  requestDuration: Histogram<'route' | 'method' | 'status'>;
  login(method: LoginMethod, outcome: LoginOutcome): void;
  tokenIssued(grantType: string): void;
  consentDecision(decision: ConsentDecision): void;
  throttleBlock(kind: 'failures' | 'count'): void;
  jobRun(job: string, outcome: 'done' | 'skipped' | 'failed'): void;
  /** Creation date of the newest signing key in use, read at scrape time (rotation overdue?). */
  watchSigningKeys(newest: () => Promise<Date | undefined>): void;
  /** Password hashes computing and waiting for a core (argon2id, one per core at a time). */
  watchPasswordHashing(load: () => { active: number; waiting: number }): void;
  /** Database pool figures, read at scrape time. */
  watchPool(stats: () => PoolStats | undefined): void;
}

const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

export function createMetrics(): Metrics {
  const registry = new Registry();
  // A cluster worker holds one GLC instance: this is the registry the primary sums up.
  answerClusterCollects(registry);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const requestDuration = new Histogram({
    name: 'glc_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status class',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const logins = new Counter({
    name: 'glc_logins_total',
    help: 'Login attempts by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'glc_tokens_issued_total',
    help: 'Tokens issued by the token endpoint, by grant type',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const consents = new Counter({
    name: 'glc_consent_decisions_total',
    help: 'Consent decisions of residents',
    labelNames: ['decision'] as const,
    registers: [registry],
  });
  const blocks = new Counter({
    name: 'glc_throttle_blocks_total',
    help: 'Requests refused by throttling (failures: repeated wrong passwords; count: too many actions per hour)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'glc_job_runs_total',
    help: 'Periodic job turns by outcome (skipped: another instance held the lock)',
    labelNames: ['job', 'outcome'] as const,
    registers: [registry],
  });
  const lastJobSuccess = new Gauge({
    name: 'glc_job_last_success_timestamp_seconds',
    help: 'End of the last successful run of each job (Unix time)',
    labelNames: ['job'] as const,
    registers: [registry],
  });
  const pools: (() => PoolStats | undefined)[] = [];
  const poolGauge = (name: string, help: string, pick: (p: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const p = pools.map((f) => f()).find((x) => x);
        if (p) this.set(pick(p));
      },
    });
  poolGauge('glc_db_pool_connections', 'Open PostgreSQL connections of the pool', (p) => p.total);
  poolGauge('glc_db_pool_idle_connections', 'Idle PostgreSQL connections of the pool', (p) => p.idle);
  poolGauge('glc_db_pool_waiting_requests', 'Queries waiting for a free connection', (p) => p.waiting);
  poolGauge('glc_db_pool_max_connections', 'Size limit of the pool', (p) => p.max);

  let newestKey: (() => Promise<Date | undefined>) | undefined;
  new Gauge({
    name: 'glc_signing_key_age_seconds',
    help: 'Age of the newest signing key in use (rotate every six months)',
    registers: [registry],
    async collect() {
      const created = await newestKey?.().catch(() => undefined);
      if (created) this.set((Date.now() - created.getTime()) / 1000);
    },
  });

  let hashing: (() => { active: number; waiting: number }) | undefined;
  new Gauge({
    name: 'glc_password_hashing',
    help: 'Password hashes (argon2id) computing and waiting for a core',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const load = hashing?.();
      if (!load) return;
      this.set({ state: 'active' }, load.active);
      this.set({ state: 'waiting' }, load.waiting);
    },
  });

  return {
    registry,
    watchSigningKeys: (newest) => {
      newestKey = newest;
    },
    watchPasswordHashing: (load) => {
      hashing = load;
    },
    requestDuration,
    login: (method, outcome) => logins.inc({ method, outcome }),
    tokenIssued: (grantType) => tokens.inc({ grant_type: GRANT_TYPES.has(grantType) ? grantType : 'other' }),
    consentDecision: (decision) => consents.inc({ decision }),
    throttleBlock: (kind) => blocks.inc({ kind }),
    jobRun: (job, outcome) => {
      jobs.inc({ job, outcome });
      if (outcome === 'done') lastJobSuccess.set({ job }, Date.now() / 1000);
    },
    watchPool: (stats) => {
      pools.push(stats);
    },
  };
}

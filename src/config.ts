// Every setting of GLC, read from the environment and checked once at start-up.
// A wrong value stops the process with one line naming the variable (see ConfigError).
import os from 'node:os';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`${variable}: ${expected}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  env: 'production' | 'development' | 'test';
  production: boolean;
  port: number;
  issuer: string;
  databaseUrl: string | undefined;
  dataDir: string;
  /** Port of the embedded PostgreSQL server (no DATABASE_URL); undefined → first free from 5433. */
  embeddedDbPort: number | undefined;
  secretsKey: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Where « Contacter l’assistance » messages go (the help desk, SAU). */
  supportEmail: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /**
   * Number of reverse proxies in front of GLC that append to X-Forwarded-For (0: none, the
   * socket address is the client). The client IP is the entry the nearest trusted proxy added,
   * counted from the right; entries further left are the client's own and are ignored.
   */
  trustProxyHops: number;
  /** Processes serving HTTP (node:cluster): GLC_WORKERS, a number or `auto` (one per core; the production default). */
  workers: number;
  /** METRICS=off: no per-request timing (the bench measures what counting costs). */
  metricsEnabled: boolean;
  /** Bearer token that opens GET /metrics; unset → the path does not exist. */
  metricsToken: string | undefined;
  franceConnect: {
    issuer: string | undefined; // undefined → built-in mock (never in production)
    clientId: string | undefined;
    clientSecret: string | undefined;
    scopes: string;
    idTokenAlg: 'ES256' | 'RS256';
    autoLink: boolean;
  };
  /** Outgoing mail and back-channel logout deliveries (pg-boss): attempts and first retry delay. */
  queue: { retryLimit: number; retryDelaySeconds: number };
  consentTtlDays: number;
  /**
   * Staff audit journal retention. One year: the CNIL recommends keeping access logs of
   * personal data 6 months to 1 year (recommandation « journalisation », 2021), long enough for
   * a resident's complaint and for the DPO's controls (RGPD art. 5.2, 32).
   */
  auditRetentionDays: number;
  /**
   * Help-desk tickets are deleted this long after closing. One year: long enough to answer a
   * follow-up or a complaint about the handling, no longer (RGPD art. 5.1.e, data minimisation).
   */
  helpTicketRetentionDays: number;
  statistics: {
    /** Published cells below this are shown as « < n » (small-count suppression). */
    minCount: number;
    /** Daily aggregates older than this are deleted (they are anonymous, but not kept forever). */
    retentionDays: number;
  };
  consentProofDays: number;
  inactivity: {
    deleteAfterDays: number;
    warnDays: number[];
    deletedAccountsRetentionDays: number;
  };
}

type Env = Record<string, string | undefined>;

function read<T>(env: Env, name: string, schema: z.ZodType<T>, expected: string): T {
  const raw = env[name];
  const parsed = schema.safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new ConfigError(name, expected);
  return parsed.data;
}

const httpUrl = z.url({ protocol: /^https?$/ });
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/**
 * TRUST_PROXY_HOPS=N is the setting; the older TRUST_PROXY=true still means one proxy (the
 * Métropole's load balancer) and TRUST_PROXY=false none. Both set and disagreeing: refused.
 */
function proxyHops(env: Env): number {
  const hops = read(
    env,
    'TRUST_PROXY_HOPS',
    z.coerce.number().int().min(0).max(10).optional(),
    'the number of reverse proxies in front of GLC that add to X-Forwarded-For (0 to 10)',
  );
  const legacy = read(env, 'TRUST_PROXY', bool.optional(), 'true or false (prefer TRUST_PROXY_HOPS=1)');
  if (hops !== undefined && legacy !== undefined && (legacy ? hops === 0 : hops > 0)) {
    throw new ConfigError('TRUST_PROXY', `contradicts TRUST_PROXY_HOPS=${hops}: remove TRUST_PROXY`);
  }
  return hops ?? (legacy ? 1 : 0);
}
const workersFrom = (value: string): number => (value === 'auto' ? os.availableParallelism() : Number(value));

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = read(
    env,
    'NODE_ENV',
    z.enum(['production', 'development', 'test']).default('development'),
    'one of production, development, test',
  );
  const production = nodeEnv === 'production';
  const port = read(env, 'PORT', z.coerce.number().int().min(0).max(65535).default(3000), 'a TCP port number (0-65535)');
  const issuer =
    read(env, 'ISSUER', httpUrl.optional(), 'an absolute http(s) URL without query or fragment, e.g. https://connect.grandlyon.com') ??
    `http://localhost:${port}`;
  const issuerUrl = new URL(issuer);
  if (issuerUrl.search || issuerUrl.hash || issuer.endsWith('/')) {
    throw new ConfigError('ISSUER', 'an absolute URL without query, fragment or trailing slash');
  }
  const databaseUrl = read(env, 'DATABASE_URL', z.url({ protocol: /^postgres(ql)?$/ }).optional(), 'a postgres:// connection URL');
  const secretsKey = read(
    env,
    'SECRETS_KEY',
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$|^[0-9a-fA-F]{64}$/)
      .optional(),
    '32 random bytes as 64 hex characters or 43 base64url characters',
  );
  const smtpUrl = read(env, 'SMTP_URL', z.url({ protocol: /^smtps?$/ }).optional(), 'an smtp:// or smtps:// URL');
  const fcIssuer = read(
    env,
    'FC_ISSUER',
    httpUrl.optional(),
    'the FranceConnect issuer URL, e.g. https://oidc.franceconnect.gouv.fr/api/v2',
  );

  const supportEmail = read(env, 'SUPPORT_EMAIL', z.email().optional(), 'the help desk (SAU) address, e.g. assistance@grandlyon.com');
  if (production) {
    if (issuerUrl.protocol !== 'https:') throw new ConfigError('ISSUER', 'an https:// URL in production');
    if (!databaseUrl) throw new ConfigError('DATABASE_URL', 'required in production (the embedded database is for development only)');
    if (!secretsKey) throw new ConfigError('SECRETS_KEY', 'required in production (32 random bytes as 64 hex characters)');
    if (!smtpUrl) throw new ConfigError('SMTP_URL', 'required in production (the dev mailbox is for development only)');
    if (!fcIssuer) throw new ConfigError('FC_ISSUER', 'required in production (the FranceConnect mock is for development only)');
    if (new URL(fcIssuer).protocol !== 'https:') throw new ConfigError('FC_ISSUER', 'an https:// URL in production');
    if (!supportEmail) throw new ConfigError('SUPPORT_EMAIL', 'required in production (help requests are sent there)');
  }
  const fcClientId = read(env, 'FC_CLIENT_ID', z.string().min(1).optional(), 'the client_id given by FranceConnect');
  const fcClientSecret = read(env, 'FC_CLIENT_SECRET', z.string().min(1).optional(), 'the client secret given by FranceConnect');
  if (fcIssuer && (!fcClientId || !fcClientSecret)) {
    throw new ConfigError(fcClientId ? 'FC_CLIENT_SECRET' : 'FC_CLIENT_ID', 'required when FC_ISSUER is set');
  }

  const warnDays = read(
    env,
    'INACTIVITY_WARN_DAYS',
    z
      .string()
      .regex(/^\d+(,\d+)*$/)
      .default('30,7'),
    'comma-separated day counts, e.g. 30,7',
  )
    .split(',')
    .map(Number)
    .sort((a, b) => b - a);

  return {
    env: nodeEnv,
    production,
    port,
    issuer,
    databaseUrl,
    dataDir: read(env, 'DATA_DIR', z.string().min(1).default('./data'), 'a folder path'),
    embeddedDbPort: read(
      env,
      'EMBEDDED_DB_PORT',
      z.coerce.number().int().min(1).max(65535).optional(),
      'a TCP port number (1-65535) for the embedded PostgreSQL server',
    ),
    secretsKey,
    smtpUrl,
    mailFrom: read(
      env,
      'MAIL_FROM',
      z.string().min(3).default('GrandLyon Connect <ne-pas-repondre@connect.grandlyon.localhost>'),
      'a sender address such as "GrandLyon Connect <no-reply@example.fr>"',
    ),
    supportEmail: supportEmail ?? 'assistance@connect.grandlyon.localhost',
    logLevel: read(env, 'LOG_LEVEL', z.enum(LOG_LEVELS).default(nodeEnv === 'test' ? 'silent' : 'info'), `one of ${LOG_LEVELS.join(', ')}`),
    trustProxyHops: proxyHops(env),
    workers: workersFrom(
      read(
        env,
        'GLC_WORKERS',
        z
          .string()
          .regex(/^(auto|[1-9]\d{0,2})$/)
          .optional(),
        'a number of processes (1-999) or auto (one per core)',
      ) ?? (production ? 'auto' : '1'),
    ),
    metricsEnabled: read(env, 'METRICS', bool.default(true), 'on or off'),
    metricsToken: read(
      env,
      'METRICS_TOKEN',
      z
        .string()
        .regex(/^[\x21-\x7e]{32,}$/)
        .optional(),
      'at least 32 printable characters without spaces (a random token)',
    ),
    franceConnect: {
      issuer: fcIssuer,
      clientId: fcClientId,
      clientSecret: fcClientSecret,
      scopes: read(
        env,
        'FC_SCOPES',
        z
          .string()
          .regex(/(^|\s)openid(\s|$)/)
          .default('openid identite_pivot email preferred_username'),
        'space-separated FranceConnect scopes including openid',
      ),
      idTokenAlg: read(env, 'FC_ID_TOKEN_ALG', z.enum(['ES256', 'RS256']).default('ES256'), 'ES256 or RS256'),
      autoLink: read(env, 'FC_AUTO_LINK', bool.default(true), 'true or false'),
    },
    auditRetentionDays: read(env, 'AUDIT_RETENTION_DAYS', positiveInt.default(365), 'a positive number of days'),
    helpTicketRetentionDays: read(env, 'HELP_TICKET_RETENTION_DAYS', positiveInt.default(365), 'a positive number of days'),
    statistics: {
      minCount: read(env, 'STATISTICS_MIN_COUNT', positiveInt.default(10), 'a positive number'),
      // Five years: long enough for year-on-year comparisons over a mandate.
      retentionDays: read(env, 'STATISTICS_RETENTION_DAYS', positiveInt.default(1830), 'a positive number of days'),
    },
    queue: {
      retryLimit: read(env, 'QUEUE_RETRY_LIMIT', z.coerce.number().int().min(0).max(20).default(8), 'a number of retries (0-20)'),
      retryDelaySeconds: read(env, 'QUEUE_RETRY_DELAY_SECONDS', positiveInt.max(3600).default(10), 'a number of seconds (1-3600)'),
    },
    consentTtlDays: read(env, 'CONSENT_TTL_DAYS', positiveInt.default(395), 'a positive number of days'),
    consentProofDays: read(env, 'CONSENT_PROOF_DAYS', positiveInt.default(1825), 'a positive number of days'),
    inactivity: {
      deleteAfterDays: read(env, 'INACTIVITY_DELETE_AFTER_DAYS', positiveInt.default(730), 'a positive number of days'),
      warnDays,
      deletedAccountsRetentionDays: read(env, 'DELETED_ACCOUNTS_RETENTION_DAYS', positiveInt.default(400), 'a positive number of days'),
    },
  };
}

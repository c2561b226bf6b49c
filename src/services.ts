// The composition root: every store and service of GLC, built once per process from the config
// and the database, in dependency order, each handed the narrow dependencies it declares. The
// server, the `glc` CLI, the tests and the benches all start here. Provider hooks are composed
// once, as lists, and frozen. Nothing is assigned to this object after it is built, except the
// provider itself, replaced when the signing keys change (reloadProviderIfKeysChanged).
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './log.js';
import { createSecrets, loadMasterKey, type Secrets } from './secrets.js';
import { createClientStore, type ClientStore } from './clients/store.js';
import { createClientService, type ClientService } from './clients/service.js';
import { createKeyStore, type KeyStore } from './oidc/keys.js';
import { apiTokenVerifierOf, createProvider, type ProviderHooks } from './oidc/provider.js';
import { createRevokedApiTokens, type ApiTokenClaims } from './oidc/api-tokens.js';
import { edgeMiddlewares } from './http/edge.js';
import { hashingLoad, shareHashingCores } from './accounts/passwords.js';
import { createAccountStore, type AccountStore } from './accounts/store.js';
import { createAccountService, type AccountService } from './accounts/service.js';
import { createSelfService, deleteThrottleKeysOfAccounts, type SelfService } from './accounts/self-service.js';
import { createDevMailbox, createSmtpMailer, type DevMailbox, type Mailer } from './mail/mailer.js';
import { createOutbox, queuedMailer, type Outbox } from './outbox/queue.js';
import { createThrottle, type Throttle } from './http/throttle.js';
import { setUpFranceConnect } from './franceconnect/setup.js';
import { BROWSER_COOKIE, browserHashOf } from './franceconnect/browser.js';
import type { FranceConnectService } from './franceconnect/service.js';
import { createConsentService, type ConsentService } from './consent/service.js';
import { consentAccountAlong, consentAccountLoader, consentClaimFilter, consentGrantLoader } from './consent/provider-hooks.js';
import { createDeletionService, type DeletionService } from './deletion/service.js';
import { createAuditService, type AuditService } from './audit/service.js';
import { createAdminService, type AdminService } from './admin/service.js';
import { createHelpTickets, type HelpTickets } from './help/tickets.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { poolStats } from './db/database.js';
import { createStatisticsService, type StatisticsService } from './statistics/service.js';

export interface Services {
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  readonly secrets: Secrets;
  readonly clientStore: ClientStore;
  readonly clients: ClientService;
  readonly keys: KeyStore;
  readonly accountStore: AccountStore;
  readonly accounts: AccountService;
  readonly selfService: SelfService;
  /** What the domains send with: through the durable queue with SMTP, the dev mailbox otherwise. */
  readonly mailer: Mailer;
  /** What the queue's mail worker delivers with (SMTP, or the dev mailbox). */
  readonly mailTransport: Mailer;
  /** Prometheus counters and gauges of this process (GET /metrics). */
  readonly metrics: Metrics;
  /** Durable queue of outgoing mail and back-channel logouts (pg-boss). */
  readonly outbox: Outbox;
  readonly devMailbox: DevMailbox | undefined;
  readonly throttle: Throttle;
  readonly franceConnect: FranceConnectService;
  /** The local FranceConnect mock's HTTP handler (development and tests only). */
  readonly franceConnectMock: Koa.Middleware | undefined;
  readonly consent: ConsentService;
  readonly deletion: DeletionService;
  /** The staff audit journal (every staff read and action, chained). */
  readonly audit: AuditService;
  /** The back-office: staff, their console login and the help-desk actions. */
  readonly admin: AdminService;
  /** Help-desk tickets (« Contacter l’assistance »). */
  readonly helpTickets: HelpTickets;
  /** Anonymous daily usage counters (issue 14, docs/statistiques.md). */
  readonly statistics: StatisticsService;
  readonly providerHooks: ProviderHooks;
  /** What every request crosses first, in GLC's app and in the provider's (http/edge.ts). */
  readonly edge: readonly Koa.Middleware[];
  /** The client-credentials JWTs of GLC's own API: the claims of a valid, unrevoked one. */
  readonly apiTokens: { check(token: string): Promise<ApiTokenClaims | undefined> };
  /** The provider in use; replaced when signing keys change (see reloadProviderIfKeysChanged). */
  readonly provider: Provider;
  /** The same as a function, for consumers that keep it (they read it at call time). */
  readonly currentProvider: () => Provider;
  /** Rebuilds the provider if the signing keys changed since it was built. */
  readonly reloadProviderIfKeysChanged: (now?: Date) => Promise<boolean>;
  /** Set on SIGTERM: /readyz answers 503 so the load balancer stops sending traffic. */
  shuttingDown: boolean;
}

export async function createServices(config: Config, db: Db, log: Logger): Promise<Services> {
  // Foundations: secrets, stores, mail, throttling.
  const secrets = createSecrets(loadMasterKey(config));
  const clientStore = createClientStore(db, secrets);
  const keys = createKeyStore(db, secrets);
  await keys.ensure();
  const accountStore = createAccountStore(db);
  const devMailbox = config.smtpUrl ? undefined : createDevMailbox(config.dataDir);
  const outbox = createOutbox({ db, log, ...config.queue });
  // The dev mailbox is a local file write, which cannot be down: written at once, so that a
  // newcomer (and the tests) find the mail as soon as the page answers.
  const mailTransport: Mailer = config.smtpUrl ? createSmtpMailer(config.smtpUrl, config.mailFrom) : devMailbox!;
  const mailer: Mailer = config.smtpUrl ? queuedMailer(outbox) : devMailbox!;
  const metrics = createMetrics();
  const statistics = createStatisticsService({ db, log, config });
  metrics.watchPool(() => poolStats(db));
  metrics.watchSigningKeys(async () => (await keys.list(false))[0]?.created_at);
  shareHashingCores(config.workers);
  metrics.watchPasswordHashing(hashingLoad);
  const throttle = createThrottle(db, secrets, metrics.throttleBlock);

  // Consumers built before the provider read it at call time, through this accessor.
  let provider: Provider | undefined;
  const currentProvider = (): Provider => {
    if (!provider) throw new Error('the provider is not built yet');
    return provider;
  };

  // Domain services, in dependency order.
  const clients = createClientService(clientStore, { production: config.production });
  const accounts = createAccountService({ store: accountStore, mailer, throttle, issuer: config.issuer, log });
  const franceConnect = await setUpFranceConnect({ config, db, log, secrets, accountStore, accounts });
  // verified_claims, purely additive: the provider still masks it by scope/claims and consent.
  const claimSources = Object.freeze([
    {
      claims: ['verified_claims'],
      async add(accountId: string, claims: Record<string, unknown>) {
        const verified = await franceConnect.service.verifiedClaims(accountId);
        return verified ? { ...claims, verified_claims: verified } : claims;
      },
    },
  ]);
  const consent = createConsentService({ db, log, config, secrets, clientStore, accountStore, claimSources, currentProvider, outbox });
  const selfService = createSelfService({
    db,
    log,
    config,
    accountStore,
    accounts,
    throttle,
    mailer,
    franceConnect: franceConnect.service,
    currentProvider,
    outbox,
  });
  const deletion = createDeletionService({
    db,
    log,
    config,
    secrets,
    mailer,
    keys,
    currentProvider,
    outbox,
    statistics,
    // Inside the one deleting transaction: consents go (the journal stays pseudonymised), and so
    // do the account's throttling counters. Set-based: a fixed number of statements per batch.
    batchCleanups: [
      (trx, accountIds, now) => consent.onAccountsDeleted(trx, accountIds, now),
      (trx, accountIds) => deleteThrottleKeysOfAccounts({ secrets }, trx, accountIds),
    ],
  });

  const audit = createAuditService({ db, config });
  const helpTickets = createHelpTickets(db, config.helpTicketRetentionDays);
  const admin = createAdminService({
    db,
    log,
    secrets,
    accountStore,
    accounts,
    selfService,
    throttle,
    audit,
    deletion,
    currentProvider,
    outbox,
    inactivityDeleteAfterDays: config.inactivity.deleteAfterDays,
  });

  // The domains' part in the protocol, composed once.
  const providerHooks: ProviderHooks = Object.freeze({
    claimSources,
    loadAccount: consentAccountLoader(consent, accountStore.findById),
    accountAlong: consentAccountAlong,
    releaseClaims: consentClaimFilter(consent),
    loadExistingGrant: consentGrantLoader(consent),
    onAccountUsed: Object.freeze([(accountId: string) => accountStore.touchActivity(accountId, new Date())]),
    // Which service knows the account, and by which sub: recorded when it obtains an authorization.
    onSubjectIssued: Object.freeze([
      (accountId: string, clientId: string, sub: string) => deletion.recordSubject(accountId, clientId, sub, new Date()),
    ]),
    // GLC logout of a session opened through FranceConnect continues at FranceConnect's /session/end.
    // oidc-provider's own back-channel logout (RP-initiated logout) failed: retried by the queue.
    onTokenIssued: Object.freeze([metrics.tokenIssued]),
    onBackchannelFailed: Object.freeze([(job: { clientId: string; accountId: string; sid: string }) => outbox.enqueueLogout(job)]),
    afterLogout: Object.freeze([
      (ctx: Parameters<ProviderHooks['afterLogout'][number]>[0], info: { accountId: string; location: string }) =>
        franceConnect.service.startLogout(
          browserHashOf(secrets, ctx.cookies.get(BROWSER_COOKIE)),
          info.accountId,
          info.location,
          new Date(),
        ),
    ]),
  });

  const revokedApiTokens = createRevokedApiTokens(db);
  const edge = edgeMiddlewares({ config, log, metrics });
  const buildProvider = (keysAt: Date) =>
    createProvider({
      config,
      db,
      log,
      secrets,
      clients: clientStore,
      keys,
      hooks: providerHooks,
      revokedApiTokens,
      edge,
      keysAt,
    });
  const keysAt = new Date();
  let providerKeysVersion = await keys.version(keysAt);
  provider = await buildProvider(keysAt);

  return {
    config,
    db,
    log,
    secrets,
    clientStore,
    clients,
    keys,
    accountStore,
    accounts,
    selfService,
    mailer,
    mailTransport,
    outbox,
    devMailbox,
    throttle,
    metrics,
    franceConnect: franceConnect.service,
    franceConnectMock: franceConnect.mockMiddleware,
    consent,
    deletion,
    audit,
    admin,
    helpTickets,
    statistics,
    providerHooks,
    edge,
    apiTokens: {
      async check(token: string) {
        const claims = await apiTokenVerifierOf(currentProvider())(token);
        return claims && !(await revokedApiTokens.isRevoked(claims.jti)) ? claims : undefined;
      },
    },
    get provider() {
      return currentProvider();
    },
    currentProvider,
    // `glc keys rotate|retire` on any instance reaches every instance within one check period.
    // The version includes each key's state: a `next` key becoming `current` reloads too.
    async reloadProviderIfKeysChanged(now = new Date()) {
      const version = await keys.version(now);
      if (version === providerKeysVersion) return false;
      provider = await buildProvider(now);
      providerKeysVersion = version;
      log.info({ keys: version.split(',').length }, 'signing keys changed: provider reloaded');
      return true;
    },
    shuttingDown: false,
  };
}

export const reloadProviderIfKeysChanged = (s: Services, now?: Date): Promise<boolean> => s.reloadProviderIfKeysChanged(now);

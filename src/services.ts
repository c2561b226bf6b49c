// The composition root: every store and service of GLC, built once per process from the
// config and the database. Routes and jobs receive this object; nothing else is global.
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import type { Context } from 'koa';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import type { Logger } from './log.js';
import { createSecrets, loadMasterKey, type Secrets } from './secrets.js';
import { createClientStore, type ClientStore } from './clients/store.js';
import { createClientService, type ClientService } from './clients/service.js';
import { createKeyStore, type KeyStore } from './oidc/keys.js';
import { createAccountStore, type AccountStore } from './accounts/store.js';
import { createAccountService, type AccountService } from './accounts/service.js';
import { createDevMailbox, createSmtpMailer, type DevMailbox, type Mailer } from './mail/mailer.js';
import { createThrottle, type Throttle } from './http/throttle.js';
import { createProvider, type ProviderHooks } from './oidc/provider.js';
import type { DeletionService } from './deletion/service.js';
import type { ConsentService } from './consent/service.js';
import type { FranceConnectService } from './franceconnect/service.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { poolStats } from './db/database.js';

export interface Services {
  config: Config;
  db: Db;
  log: Logger;
  secrets: Secrets;
  clientStore: ClientStore;
  clients: ClientService;
  keys: KeyStore;
  accountStore: AccountStore;
  accounts: AccountService;
  mailer: Mailer;
  devMailbox: DevMailbox | undefined;
  throttle: Throttle;
  metrics: Metrics;
  providerHooks: ProviderHooks;
  /** The provider in use; replaced when signing keys change (see reloadProviderIfKeysChanged). */
  provider: Provider;
  providerKeysVersion: string;
  /** Set on SIGTERM: /readyz answers 503 so the load balancer stops sending traffic. */
  shuttingDown?: boolean;
  /** Domain services, assigned by each domain's register function (src/domains.ts). */
  deletion: DeletionService;
  consent: ConsentService;
  franceConnect: FranceConnectService;
  /** Extension points filled by the FranceConnect and consent domains. */
  franceConnectEnabled?: boolean;
  consentPage?: (ctx: Context, details: Interaction, view: Record<string, unknown>) => Promise<void>;
  consentSubmit?: (ctx: Context, details: Interaction) => Promise<void>;
}

export async function createServices(config: Config, db: Db, log: Logger): Promise<Services> {
  const secrets = createSecrets(loadMasterKey(config));
  const clientStore = createClientStore(db, secrets);
  const keys = createKeyStore(db, secrets);
  await keys.ensure();
  const accountStore = createAccountStore(db);
  const devMailbox = config.smtpUrl ? undefined : createDevMailbox(config.dataDir);
  const mailer: Mailer = config.smtpUrl ? createSmtpMailer(config.smtpUrl, config.mailFrom) : devMailbox!;
  const metrics = createMetrics();
  metrics.watchPool(() => poolStats(db));
  metrics.watchSigningKeys(async () => (await keys.list(false))[0]?.created_at);
  const throttle = createThrottle(db, secrets, metrics.throttleBlock);
  const providerHooks: ProviderHooks = {
    onAccountUsed: (accountId) => accountStore.touchActivity(accountId, new Date()),
    onTokenIssued: metrics.tokenIssued,
  };
  const services: Omit<Services, 'provider' | 'providerKeysVersion' | 'deletion' | 'consent' | 'franceConnect'> = {
    config, db, log, secrets, clientStore, keys, accountStore, mailer, devMailbox, throttle, metrics, providerHooks,
    clients: createClientService(clientStore, { production: config.production }),
    accounts: createAccountService({ store: accountStore, mailer, throttle, issuer: config.issuer }),
  };
  const full = services as Services;
  full.providerKeysVersion = await keys.version();
  full.provider = await buildProvider(full);
  return full;
}

function buildProvider(s: Services): Promise<Provider> {
  return createProvider({ config: s.config, db: s.db, log: s.log, secrets: s.secrets, clients: s.clientStore, accounts: s.accountStore, keys: s.keys, hooks: s.providerHooks });
}

/** `glc keys rotate|retire` on any instance reaches every instance within one check period. */
export async function reloadProviderIfKeysChanged(s: Services): Promise<boolean> {
  const version = await s.keys.version();
  if (version === s.providerKeysVersion) return false;
  s.provider = await buildProvider(s);
  s.providerKeysVersion = version;
  s.log.info({ keys: version.split(',').length }, 'signing keys changed: provider reloaded');
  return true;
}

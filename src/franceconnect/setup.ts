// Builds GLC's FranceConnect relying party: the real FranceConnect (FC_ISSUER), or — never in
// production, config.ts refuses it — the strict local mock served by this process under
// ${ISSUER}/franceconnect-mock/api/v2. Called once, by the composition root.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type Koa from 'koa';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { AccountStore } from '../accounts/store.js';
import type { AccountService } from '../accounts/service.js';
import { randomToken } from '../secrets.js';
import { projectPath } from '../paths.js';
import { createFranceConnectMock, loadFixtureIdentities } from './mock/mock.js';
import { createFranceConnectClient } from './client.js';
import { createFranceConnectStore } from './store.js';
import { createFranceConnectService, type DevMock, type FranceConnectService } from './service.js';

export const MOCK_ISSUER_PATH = '/franceconnect-mock/api/v2';

interface MockCredentials {
  clientId: string;
  clientSecret: string;
}

/** The mock's client id/secret, kept per data folder (FC subs are pairwise per client id). */
function mockCredentials(dataDir: string): MockCredentials {
  const file = path.resolve(dataDir, 'franceconnect-mock-client.json');
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<MockCredentials>;
    if (typeof saved.clientId === 'string' && typeof saved.clientSecret === 'string') return saved as MockCredentials;
  } catch {
    /* first start */
  }
  const fresh = { clientId: `glc-${randomToken(12)}`, clientSecret: randomToken(32) };
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(fresh), { mode: 0o600, flag: 'wx' });
  } catch {
    // Another process wrote it first: use theirs.
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as MockCredentials;
    } catch {
      /* keep ours in memory */
    }
  }
  return fresh;
}

function fixtureFile(): string {
  const file = projectPath('fixtures', 'franceconnect-identities.json');
  if (!existsSync(file)) throw new Error('fixtures/franceconnect-identities.json not found (needed by the FranceConnect mock)');
  return file;
}

export interface FranceConnectSetupDeps {
  config: Pick<Config, 'issuer' | 'dataDir' | 'production' | 'franceConnect'>;
  db: Db;
  log: Logger;
  secrets: Secrets;
  accountStore: AccountStore;
  accounts: AccountService;
}

export interface FranceConnectSetup {
  service: FranceConnectService;
  /** The local mock's HTTP handler, mounted before every router; absent with the real FranceConnect. */
  mockMiddleware?: Koa.Middleware;
}

export async function setUpFranceConnect(deps: FranceConnectSetupDeps): Promise<FranceConnectSetup> {
  const { config, log } = deps;
  const cfg = config.franceConnect;
  let issuer: string;
  let credentials: MockCredentials;
  let devMock: DevMock | undefined;
  let mockMiddleware: Koa.Middleware | undefined;
  if (cfg.issuer) {
    issuer = cfg.issuer;
    credentials = { clientId: cfg.clientId!, clientSecret: cfg.clientSecret! };
  } else {
    issuer = `${config.issuer}${MOCK_ISSUER_PATH}`;
    credentials = mockCredentials(config.dataDir);
    const identities = loadFixtureIdentities(fixtureFile());
    const clock = { offsetSeconds: 0 };
    const mock = await createFranceConnectMock({
      issuer,
      clients: [
        {
          ...credentials,
          redirectUris: [`${config.issuer}/franceconnect/callback`],
          postLogoutRedirectUris: [`${config.issuer}/franceconnect/deconnexion`],
        },
      ],
      identities,
      signingAlg: cfg.idTokenAlg,
      production: config.production,
      now: () => Date.now() / 1000 + clock.offsetSeconds,
    });
    mockMiddleware = mock.middleware;
    devMock = { mock, identities, clock };
    log.info({ event: 'franceconnect_mock', issuer }, 'FranceConnect: built-in local mock (development only)');
  }

  const client = createFranceConnectClient({
    issuer,
    ...credentials,
    redirectUri: `${config.issuer}/franceconnect/callback`,
    postLogoutRedirectUri: `${config.issuer}/franceconnect/deconnexion`,
    scopes: cfg.scopes,
    idTokenAlg: cfg.idTokenAlg,
  });
  const service = createFranceConnectService({
    store: createFranceConnectStore(deps.db),
    accountStore: deps.accountStore,
    accounts: deps.accounts,
    secrets: deps.secrets,
    log,
    client,
    issuer,
    settings: cfg,
    devMock,
  });
  return { service, ...(mockMiddleware && { mockMiddleware }) };
}

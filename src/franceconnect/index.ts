// FranceConnect domain: GLC as a FranceConnect relying party (federation, certification,
// verified_claims, logout). Without FC_ISSUER (never in production: config.ts refuses), the
// strict local mock runs in this process under ${ISSUER}/franceconnect-mock/api/v2.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';
import { randomToken } from '../secrets.js';
import { createFranceConnectMock, loadFixtureIdentities } from './mock/mock.js';
import { createFranceConnectClient } from './client.js';
import { createFranceConnectStore } from './store.js';
import { createFranceConnectService, type DevMock } from './service.js';
import { BROWSER_COOKIE, browserHashOf, franceConnectRoutes } from './routes.js';

export const MOCK_ISSUER_PATH = '/franceconnect-mock/api/v2';

interface MockCredentials { clientId: string; clientSecret: string }

/** The mock's client id/secret, kept per data folder (FC subs are pairwise per client id). */
function mockCredentials(dataDir: string): MockCredentials {
  const file = path.resolve(dataDir, 'franceconnect-mock-client.json');
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<MockCredentials>;
    if (typeof saved.clientId === 'string' && typeof saved.clientSecret === 'string') return saved as MockCredentials;
  } catch { /* first start */ }
  const fresh = { clientId: `glc-${randomToken(12)}`, clientSecret: randomToken(32) };
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(fresh), { mode: 0o600, flag: 'wx' });
  } catch {
    // Another process wrote it first: use theirs.
    try { return JSON.parse(readFileSync(file, 'utf8')) as MockCredentials; } catch { /* keep ours in memory */ }
  }
  return fresh;
}

function fixtureFile(): string {
  const candidates = ['../../fixtures/franceconnect-identities.json', '../../../fixtures/franceconnect-identities.json']
    .map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('fixtures/franceconnect-identities.json not found (needed by the FranceConnect mock)');
  return found;
}

export async function registerFranceConnect(s: Services): Promise<DomainParts> {
  const cfg = s.config.franceConnect;
  const middlewares: DomainParts['middlewares'] = [];
  let issuer: string;
  let credentials: MockCredentials;
  let devMock: DevMock | undefined;
  if (cfg.issuer) {
    issuer = cfg.issuer;
    credentials = { clientId: cfg.clientId!, clientSecret: cfg.clientSecret! };
  } else {
    issuer = `${s.config.issuer}${MOCK_ISSUER_PATH}`;
    credentials = mockCredentials(s.config.dataDir);
    const identities = loadFixtureIdentities(fixtureFile());
    const clock = { offsetSeconds: 0 };
    const mock = await createFranceConnectMock({
      issuer,
      clients: [{
        ...credentials,
        redirectUris: [`${s.config.issuer}/franceconnect/callback`],
        postLogoutRedirectUris: [`${s.config.issuer}/franceconnect/deconnexion`],
      }],
      identities,
      signingAlg: cfg.idTokenAlg,
      production: s.config.production,
      now: () => Date.now() / 1000 + clock.offsetSeconds,
    });
    middlewares.push(mock.middleware);
    devMock = { mock, identities, clock };
    s.log.info({ event: 'franceconnect_mock', issuer }, 'FranceConnect: built-in local mock (development only)');
  }

  const client = createFranceConnectClient({
    issuer, ...credentials,
    redirectUri: `${s.config.issuer}/franceconnect/callback`,
    postLogoutRedirectUri: `${s.config.issuer}/franceconnect/deconnexion`,
    scopes: cfg.scopes,
    idTokenAlg: cfg.idTokenAlg,
  });
  const service = createFranceConnectService({
    store: createFranceConnectStore(s.db), accountStore: s.accountStore, accounts: s.accounts,
    secrets: s.secrets, log: s.log, client, issuer, settings: cfg, devMock,
  });
  s.franceConnect = service;
  s.franceConnectEnabled = true;

  // verified_claims, purely additive: the provider still masks it by scope/claims and consent.
  const previousExtra = s.providerHooks.extraClaims;
  s.providerHooks.extraClaims = async (accountId, claims) => {
    const base = previousExtra ? await previousExtra(accountId, claims) : claims;
    const verified = await service.verifiedClaims(accountId);
    return verified ? { ...base, verified_claims: verified } : base;
  };
  // GLC logout of a session opened through FranceConnect continues at FranceConnect's /session/end.
  const previousLogout = s.providerHooks.afterLogout;
  s.providerHooks.afterLogout = async (ctx, info) => {
    const target = await service.startLogout(browserHashOf(s, ctx.cookies.get(BROWSER_COOKIE)), info.accountId, info.location, new Date());
    return target ?? (previousLogout ? previousLogout(ctx, info) : undefined);
  };

  return {
    middlewares,
    routers: franceConnectRoutes(s),
    jobs: [{
      name: 'franceconnect-cleanup', everyMs: 10 * 60_000, lockId: 7_401,
      run: async (now) => {
        const deleted = await service.cleanup(now);
        return deleted ? { franceConnectRowsDeleted: deleted } : undefined;
      },
    }],
  };
}

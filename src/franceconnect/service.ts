// GLC as a FranceConnect relying party, composed from its parts: logging in (login.ts), linking
// and certification (linking.ts), the help desk's recovery of a changed sub (recovery.ts), and
// logging out of FranceConnect after GLC (logout.ts). No ctx here: routes pass plain values.
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { AccountStore } from '../accounts/store.js';
import type { AccountService } from '../accounts/service.js';
import type { FranceConnectMock, FcIdentity as FcMockIdentity } from './mock/mock.js';
import type { FranceConnectClient } from './client.js';
import type { FranceConnectStore } from './store.js';
import { createLinking } from './linking.js';
import { createFranceConnectLogin } from './login.js';
import { createFranceConnectLogout } from './logout.js';
import { createRecoveryDesk, createRecoveryRequests } from './recovery.js';

export type { CallbackResult, FcErrorCategory } from './login.js';
export type { PendingLogin, PendingChoice, PendingLink, PendingRecovery } from './pending.js';
export { ATTEMPT_TTL_MS, FC_SESSION_TTL_MS, RECOVERY_TTL_MS, hashSub, recoveryReference } from './pending.js';
export { createRecoveryDesk, type RecoveryRefusal } from './recovery.js';

/** The in-process mock (development and tests only), for tests that bend it. */
export interface DevMock {
  mock: FranceConnectMock;
  identities: FcMockIdentity[];
  clock: { offsetSeconds: number };
}

export interface FranceConnectDeps {
  store: FranceConnectStore;
  accountStore: AccountStore;
  accounts: AccountService;
  secrets: Secrets;
  log: Logger;
  client: FranceConnectClient;
  issuer: string;
  /** Read at call time (tests flip it). */
  settings: { autoLink: boolean };
  devMock?: DevMock;
}

export function createFranceConnectService(deps: FranceConnectDeps) {
  const { store, log } = deps;
  const linking = createLinking(deps);
  const recovery = createRecoveryRequests(store, log);
  const desk = createRecoveryDesk(store, log);
  const login = createFranceConnectLogin({ ...deps, linking, recovery });
  const logout = createFranceConnectLogout(deps);
  return {
    client: deps.client,
    devMock: deps.devMock,
    ...login,
    linkWithPassword: linking.linkWithPassword,
    certifiedFields: linking.certifiedFields,
    verifiedClaims: linking.verifiedClaims,
    exportFor: linking.exportFor,
    status: linking.status,
    unlink: linking.unlink,
    recoveryReference: recovery.referenceOf,
    requestAssistance: recovery.requestAssistance,
    /** Help desk (SAU): see createRecoveryDesk. */
    resolveRecovery: desk.resolve,
    ...logout,
    cleanup: (now: Date) => store.deleteExpired(now),
  };
}
export type FranceConnectService = ReturnType<typeof createFranceConnectService>;

import type { FcIdentity } from './identities.js';
import type { SigningKeyRing } from './keys.js';
import type { MockStore } from './store.js';
import type { FcMockClient, FcMockFaults } from './types.js';
import type { MockViews } from './views.js';

/** Everything a handler of the mock needs; built once by createFranceConnectMock. */
export interface MockDeps {
  issuer: string;
  /** Path prefix of every route, from the issuer ("" when the issuer has no path). */
  prefix: string;
  clients: ReadonlyMap<string, FcMockClient>;
  identities: ReadonlyMap<string, FcIdentity>;
  keys: SigningKeyRing;
  store: MockStore;
  views: MockViews;
  faults: FcMockFaults;
  /** Whole epoch seconds, from the options' clock. */
  now(): number;
}

/** Absolute endpoint address, as published by discovery. */
export function endpointUrl(deps: MockDeps, path: string): string {
  return deps.issuer.replace(/\/$/, '') + path;
}

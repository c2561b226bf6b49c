import type Koa from 'koa';

import type { FcIdentity } from './identities.js';
import type { FcSigningAlg } from './keys.js';

export interface FcMockClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface FcMockOptions {
  /** e.g. "http://localhost:3000/franceconnect-mock/api/v2": the mock serves paths under its pathname. */
  issuer: string;
  clients: FcMockClient[];
  identities: FcIdentity[];
  /** Default ES256, as FranceConnect recommends. */
  signingAlg?: FcSigningAlg;
  /** When true, createFranceConnectMock throws: the mock must never face real residents. */
  production?: boolean;
  /** Epoch seconds; tests move time with it. */
  now?: () => number;
}

/** Knobs that make the mock misbehave, so that client-side checks can be proven. Tests only. */
export interface FcMockFaults {
  idTokenAlg?: 'HS256' | 'none';
  idTokenKid?: string;
  idTokenAud?: string;
  idTokenExpired?: boolean;
  idTokenNonce?: string;
  idTokenIss?: string;
  userinfoSub?: string;
  userinfoAsJson?: boolean;
  /** Forces /authorize to redirect with this error code, e.g. server_error. */
  authorizeError?: string;
}

export interface FranceConnectMock {
  /** Handles requests under the issuer path only; anything else goes to next(). */
  middleware: Koa.Middleware;
  /** A new key (new kid) signs from now on; the JWKS publishes the new and the previous key. */
  rotateSigningKey(): Promise<string>;
  faults: FcMockFaults;
  close(): void;
}

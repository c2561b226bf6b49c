import { createHash } from 'node:crypto';
import { SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';

import type { SigningKey } from './keys.js';
import type { FcMockFaults } from './types.js';

const ID_TOKEN_TTL = 60;
const USERINFO_TTL = 60;
/** How far in the past the "expired" fault puts exp. */
const EXPIRED_BY = 5 * 60;

/** OIDC Core 3.1.3.6: left half of the hash of the access token, base64url. */
export function atHash(accessToken: string, alg: string): string {
  const bits = alg === 'none' ? '256' : alg.slice(-3);
  const digest = createHash(`sha${bits}`).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function signWithKey(payload: JWTPayload, key: SigningKey, kid = key.kid): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' }).sign(key.privateKey);
}

export interface IdTokenInput {
  issuer: string;
  sub: string;
  clientId: string;
  clientSecret: string;
  nonce: string;
  authTime: number;
  accessToken: string;
  now: number;
}

/** The ID token FranceConnect returns, bent by whichever faults are switched on. */
export async function signIdToken(input: IdTokenInput, key: SigningKey, faults: FcMockFaults): Promise<string> {
  const alg = faults.idTokenAlg ?? key.alg;
  const iat = faults.idTokenExpired ? input.now - EXPIRED_BY - ID_TOKEN_TTL : input.now;
  const payload: JWTPayload = {
    iss: faults.idTokenIss ?? input.issuer,
    sub: input.sub,
    aud: faults.idTokenAud ?? input.clientId,
    exp: iat + ID_TOKEN_TTL,
    iat,
    auth_time: input.authTime,
    acr: 'eidas1',
    nonce: faults.idTokenNonce ?? input.nonce,
    at_hash: atHash(input.accessToken, alg),
  };
  if (faults.idTokenAlg === 'none') return new UnsecuredJWT(payload).encode();
  if (faults.idTokenAlg === 'HS256') {
    // The classic confusion attack: a token "signed" with the client's own secret.
    return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(input.clientSecret));
  }
  return signWithKey(payload, key, faults.idTokenKid);
}

export interface UserinfoInput {
  issuer: string;
  sub: string;
  clientId: string;
  claims: Record<string, unknown>;
  now: number;
}

/** The userinfo payload: identity claims framed by sub/iss/aud/iat/exp. */
export function userinfoPayload(input: UserinfoInput, faults: FcMockFaults): JWTPayload {
  return {
    ...input.claims,
    sub: faults.userinfoSub ?? input.sub,
    iss: input.issuer,
    aud: input.clientId,
    iat: input.now,
    exp: input.now + USERINFO_TTL,
  };
}

export function signUserinfo(payload: JWTPayload, key: SigningKey): Promise<string> {
  return signWithKey(payload, key);
}

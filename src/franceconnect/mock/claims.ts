import { createHmac } from 'node:crypto';

import type { FcPivotIdentity } from './identities.js';

/** Scopes that each release exactly one claim (plus its companion, see claimsForScopes). */
const CLAIM_SCOPES = [
  'given_name',
  'family_name',
  'birthdate',
  'gender',
  'birthplace',
  'birthcountry',
  'email',
  'preferred_username',
] as const;

type ClaimScope = (typeof CLAIM_SCOPES)[number];

/** FranceConnect's scope aliases, expanded to the single-claim scopes they stand for. */
const SCOPE_ALIASES: Record<string, readonly ClaimScope[]> = {
  profile: ['given_name', 'family_name', 'birthdate', 'gender', 'preferred_username'],
  birth: ['birthplace', 'birthcountry'],
  identite_pivot: ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'],
  // `email` is both a claim scope and an alias of itself in FranceConnect's list.
};

export const SUPPORTED_SCOPES: readonly string[] = ['openid', ...CLAIM_SCOPES, ...Object.keys(SCOPE_ALIASES)];

export const SUPPORTED_CLAIMS: readonly string[] = ['sub', ...CLAIM_SCOPES, 'given_name_array', 'idp_birthdate'];

function isClaimScope(scope: string): scope is ClaimScope {
  return (CLAIM_SCOPES as readonly string[]).includes(scope);
}

function expandScopes(scopes: readonly string[]): Set<ClaimScope> {
  const expanded = new Set<ClaimScope>();
  for (const scope of scopes) {
    if (isClaimScope(scope)) expanded.add(scope);
    for (const aliased of SCOPE_ALIASES[scope] ?? []) expanded.add(aliased);
  }
  return expanded;
}

/**
 * The identity claims a token with these scopes may read. A claim the identity does not have
 * (no email, say) is left out rather than sent empty; an empty birthplace (born abroad) is a
 * value and is sent as "".
 */
export function claimsForScopes(identity: FcPivotIdentity, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const scope of expandScopes(scopes)) {
    const value = identity[scope];
    if (value !== undefined) claims[scope] = value;
  }
  if (typeof claims.given_name === 'string') {
    claims.given_name_array = claims.given_name.split(' ').filter((name) => name !== '');
  }
  if ('birthdate' in claims && identity.idp_birthdate !== undefined) {
    claims.idp_birthdate = identity.idp_birthdate;
  }
  return claims;
}

/**
 * The salt is fixed on purpose: a resident's `sub` must survive restarts of the mock, since the
 * development database keeps the FranceConnect links. It is no secret: the mock is never a
 * production identity provider.
 */
const PAIRWISE_SALT = 'grandlyon-connect/franceconnect-mock/pairwise-v1';

/** FranceConnect's pairwise subject: 64 hex characters then `v1`, different for each client. */
export function pairwiseSub(clientId: string, login: string): string {
  return (
    createHmac('sha256', PAIRWISE_SALT)
      .update(clientId + login)
      .digest('hex') + 'v1'
  );
}

// How an account becomes OpenID Connect claims (shared/claims.md). The provider masks
// them by the grant: only scopes and claims the resident consented to leave GLC.
import type { Account } from '../db/schema.js';

export type Claims = Record<string, unknown>;

/**
 * The standard `name` (full name, displayed by many libraries): given names and usage name, or
 * birth name. Computed from the claims at hand, so it never carries a part that is not released.
 */
export function displayName(claims: Claims): string | undefined {
  const given = typeof claims.given_name === 'string' ? claims.given_name : undefined;
  const usage = typeof claims.preferred_username === 'string' && claims.preferred_username ? claims.preferred_username : undefined;
  const birth = typeof claims.family_name === 'string' ? claims.family_name : undefined;
  const last = usage ?? birth;
  return given && last ? `${given} ${last}` : undefined;
}

export function accountClaims(account: Account, sub: string): Claims {
  const claims: Claims = {
    sub,
    given_name: account.given_name ?? undefined,
    family_name: account.family_name ?? undefined,
    preferred_username: account.preferred_username || undefined,
    birthdate: account.birthdate ?? undefined,
    gender: account.gender ?? undefined,
    birthplace: account.birthplace ?? undefined,
    birthcountry: account.birthcountry ?? undefined,
    updated_at: Math.floor(account.updated_at.getTime() / 1000),
  };
  claims.name = displayName(claims);
  if (account.email) {
    claims.email = account.email;
    claims.email_verified = account.email_verified_at !== null;
  }
  if (account.phone_number) {
    claims.phone_number = account.phone_number;
    claims.phone_number_verified = false;
  }
  if (account.address_street || account.address_locality) {
    claims.address = {
      street_address: account.address_street ?? undefined,
      postal_code: account.address_postal_code ?? undefined,
      locality: account.address_locality ?? undefined,
      country: account.address_country ?? undefined,
    };
  }
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

// The consent domain's part in the protocol: which grant an authorization reuses, and which
// claims may leave GLC. Composed into the provider's hooks by the composition root.
import type { Configuration } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../accounts/account-client.js';
import type { Claims } from '../oidc/account-claims.js';
import type { ConsentService } from './service.js';
import type { Account } from '../db/schema.js';
import type { ReadAlong } from '../oidc/adapter.js';
import { accountWithConsentAndGrantQuery, accountWithConsentQuery } from './store.js';

/** The grant to reuse: the one built from the resident's consent record, or none (consent is asked). */
export function consentGrantLoader(consent: Pick<ConsentService, 'grantFor'>): NonNullable<Configuration['loadExistingGrant']> {
  return async (ctx) => {
    const clientId = ctx.oidc.client!.clientId;
    const resultGrantId = ctx.oidc.result?.consent?.grantId;
    // Just back from the consent page, or GLC's own account area (nothing shared): plain reuse.
    if (resultGrantId || clientId === ACCOUNT_CLIENT_ID) {
      const grantId = resultGrantId ?? ctx.oidc.session?.grantIdFor(clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    }
    const accountId = ctx.oidc.account?.accountId ?? ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const scopes = String(ctx.oidc.params?.scope ?? '')
      .split(' ')
      .filter(Boolean);
    return consent.grantFor(ctx.oidc.provider.Grant, accountId, clientId, scopes);
  };
}

/** Only consented data leave GLC (GLC's own account area shares nothing and sees everything). */
export function consentClaimFilter(consent: Pick<ConsentService, 'releaseClaims'>) {
  return async (accountId: string, clientId: string | undefined, claims: Claims): Promise<Claims> =>
    clientId === ACCOUNT_CLIENT_ID ? claims : consent.releaseClaims(accountId, clientId, claims);
}

/** The account for the provider; with a service, its consent read in the same query (consent.loadAccount). */
export function consentAccountLoader(
  consent: Pick<ConsentService, 'loadAccount'>,
  findById: (accountId: string) => Promise<Account | undefined>,
) {
  return (accountId: string, clientId: string | undefined): Promise<Account | undefined> =>
    clientId && clientId !== ACCOUNT_CLIENT_ID ? consent.loadAccount(accountId, clientId) : findById(accountId);
}

/**
 * What consentAccountLoader reads, for the adapter to join to a token's read (the token brings
 * its grant) and, in an authorization, to the read of the session or of the interaction returned
 * from (the consent's grant comes along, for consentGrantLoader): oidc/adapter.ts.
 */
export const consentAccountAlong: ReadAlong = Object.freeze({
  token: accountWithConsentQuery,
  authorization: accountWithConsentAndGrantQuery,
});

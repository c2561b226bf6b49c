// Consent domain: builds the consent service, plugs it into the provider (which grant to reuse,
// which claims may leave) and the interaction pages, and returns its pages and jobs.
import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';
import { ACCOUNT_CLIENT_ID } from '../accounts/session.js';
import { interactionView } from '../interactions/routes.js';
import { createConsentService } from './service.js';
import { consentPage, consentRoutes, consentSubmit } from './routes.js';

export async function registerConsent(s: Services): Promise<DomainParts> {
  s.consent = createConsentService(s);
  // Inside the one account-deletion transaction: consents go, the journal stays pseudonymised.
  // Set-based: a fixed number of statements per batch of deleted accounts (purge and self-deletion alike).
  s.deletion.registerBatchCleanup((trx, accountIds, now) => s.consent.onAccountsDeleted(trx, accountIds, now));

  s.providerHooks.loadExistingGrant = async (ctx) => {
    const clientId = ctx.oidc.client!.clientId;
    const resultGrantId = ctx.oidc.result?.consent?.grantId;
    // Just back from the consent page, or GLC's own account area (nothing shared): plain reuse.
    if (resultGrantId || clientId === ACCOUNT_CLIENT_ID) {
      const grantId = resultGrantId ?? ctx.oidc.session?.grantIdFor(clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    }
    const accountId = ctx.oidc.account?.accountId ?? ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const scopes = String(ctx.oidc.params?.scope ?? '').split(' ').filter(Boolean);
    return s.consent.grantFor(ctx.oidc.provider.Grant, accountId, clientId, scopes);
  };
  s.providerHooks.releaseClaims = async (accountId, clientId, claims) =>
    clientId === ACCOUNT_CLIENT_ID ? claims : s.consent.releaseClaims(accountId, clientId, claims);

  s.consentPage = (ctx, details, view) => consentPage(s, ctx, details, view);
  s.consentSubmit = async (ctx, details) => consentSubmit(s, ctx, details, (await interactionView(s, ctx)).view);

  return {
    routers: consentRoutes(s),
    jobs: [{
      name: 'consent-maintenance', everyMs: 60 * 60_000, lockId: 7_301,
      run: async (now) => {
        const expired = await s.consent.expireDue(now);
        const purged = await s.consent.purgeJournal(now);
        return expired || purged ? { consentsExpired: expired, journalEntriesPurged: purged } : undefined;
      },
    }],
  };
}

// Consent domain: « Mes services connectés » and the consent records' upkeep. Its service and
// its provider hooks are built by the composition root; the consent page of an authorization
// is served by interactions/routes.ts through consent/routes.ts.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { consentRoutes } from './routes.js';

export function registerConsent(s: Services): DomainParts {
  return {
    routers: consentRoutes(s),
    jobs: [
      {
        // Consents past CONSENT_TTL_DAYS end (journalled, grant revoked); pseudonymised journal
        // entries go after CONSENT_PROOF_DAYS.
        name: 'consent-maintenance',
        everyMs: 60 * 60_000,
        run: async (now) => {
          const expired = await s.consent.expireDue(now);
          const purged = await s.consent.purgeJournal(now);
          return expired || purged ? { consentsExpired: expired, journalEntriesPurged: purged } : undefined;
        },
      },
    ],
  };
}

// Accounts domain: the resident's area (identity sheet, email, password, rights) and the purge
// of sign-ups never confirmed. Its services are built by the composition root.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { accountAreaRoutes } from './area-routes.js';
import { emailChangeRoutes } from './email-change-routes.js';
import { identityRoutes } from './identity-routes.js';
import { passwordResetRoutes } from './password-reset-routes.js';
import { rightsRoutes } from './rights-routes.js';
import { securityRoutes } from './security-routes.js';
import { ensureAccountClient } from './session.js';

export async function registerAccountArea(s: Services): Promise<DomainParts> {
  await ensureAccountClient(s);
  const self = s.selfService;
  return {
    routers: [
      accountAreaRoutes(s),
      identityRoutes(s, self),
      emailChangeRoutes(s, self),
      securityRoutes(s, self),
      rightsRoutes(s, self),
      passwordResetRoutes(s, self),
    ],
    jobs: [
      {
        // Sign-ups whose address was never confirmed are removed after 7 days.
        name: 'purge-unverified-signups',
        everyMs: 3600_000,
        run: async (now) => {
          const deleted = await self.purgeUnverifiedSignUps(now);
          return deleted ? { unverifiedSignUpsDeleted: deleted } : undefined;
        },
      },
    ],
  };
}

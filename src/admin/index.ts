// Back-office domain: the /admin console and the purge of expired staff sessions and of the
// audit journal and of closed help-desk tickets past their retention. Its services are built by the composition root.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { adminRoutes } from './routes.js';

export function registerAdmin(s: Services): DomainParts {
  return {
    routers: [adminRoutes(s)],
    jobs: [
      {
        name: 'admin-purge',
        everyMs: 3600_000,
        run: async (now) => {
          const [sessions, auditEntries, tickets] = [
            await s.admin.purgeSessions(now),
            await s.audit.purge(now),
            await s.helpTickets.purge(now),
          ];
          return sessions || auditEntries || tickets
            ? { staffSessionsDeleted: sessions, auditEntriesPurged: auditEntries, helpTicketsDeleted: tickets }
            : undefined;
        },
      },
    ],
  };
}

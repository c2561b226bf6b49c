// Deletion domain: the one account-deletion routine, inactivity warnings and purge, and the
// deleted-accounts API that services poll. Its service is built by the composition root.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { PURGE_JOB_NAME } from './service.js';
import { deletionApiRoutes } from './routes.js';

export function registerDeletion(s: Services): DomainParts {
  return {
    routers: [deletionApiRoutes(s)],
    jobs: [
      {
        // Warnings, deletion at term, retention of the records: once a day, one instance at a time
        // (the scheduler's lock for this name is the one purgeInactive takes from the CLI).
        name: PURGE_JOB_NAME,
        everyMs: 24 * 3600_000,
        run: async (now) => {
          const r = await s.deletion.runPurge(now);
          return { warned: r.warned, deleted: r.deleted, skipped: r.skipped, failed: r.failed, recordsExpired: r.recordsExpired };
        },
      },
    ],
  };
}

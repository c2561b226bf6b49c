// Deletion domain: the one account-deletion routine, inactivity warnings and purge, and the
// deleted-accounts API that services poll.
import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';
import { createDeletionService, PURGE_LOCK_ID } from './service.js';
import { deletionApiRoutes } from './routes.js';

export async function registerDeletion(s: Services): Promise<DomainParts> {
  s.deletion = createDeletionService(s);
  // Which service knows the account, and by which sub: recorded when it obtains an authorization.
  s.providerHooks.onSubjectIssued = (accountId, clientId, sub) => s.deletion.recordSubject(accountId, clientId, sub, new Date());
  return {
    routers: [deletionApiRoutes(s)],
    jobs: [
      {
        // Warnings, deletion at term, retention of the records: once a day, one instance at a time.
        name: 'inactivity-purge', everyMs: 24 * 3600_000, lockId: PURGE_LOCK_ID,
        run: async (now) => {
          const r = await s.deletion.runPurge(now);
          return { warned: r.warned, deleted: r.deleted, skipped: r.skipped, failed: r.failed, recordsExpired: r.recordsExpired };
        },
      },
    ],
  };
}

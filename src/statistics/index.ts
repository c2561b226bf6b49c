// Statistics domain: anonymous daily usage counters (issue 14). Its service is built by the
// composition root; here, only what the app mounts: the API, the open-data file and the retention job (the console
// page is mounted by admin/routes.ts, behind the staff guard).
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { STATISTICS_PURGE_JOB } from './service.js';
import { statisticsApiRoutes } from './routes.js';

export function registerStatistics(s: Services): DomainParts {
  return {
    routers: [statisticsApiRoutes(s)],
    jobs: [
      {
        // Aggregates older than STATISTICS_RETENTION_DAYS go, once a day.
        name: STATISTICS_PURGE_JOB,
        everyMs: 24 * 3600_000,
        run: async (now) => ({ deleted: await s.statistics.purge(now) }),
      },
    ],
  };
}

// Statistics domain: anonymous daily usage counters (issue 14). Its service is built by the
// composition root; here, only what the app mounts: the retention job of the aggregates.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { STATISTICS_PURGE_JOB } from './service.js';

export function registerStatistics(s: Services): DomainParts {
  return {
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

// The provider's own upkeep: expired protocol rows and stale throttling counters.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { deleteExpiredPayloads } from './adapter.js';

export function registerOidc(s: Services): DomainParts {
  return {
    jobs: [
      {
        name: 'cleanup-expired',
        everyMs: 10 * 60_000,
        run: async (now) => {
          const payloads = await deleteExpiredPayloads(s.db, now);
          await s.throttle.deleteStale(now);
          return payloads ? { expiredRowsDeleted: payloads } : undefined;
        },
      },
    ],
  };
}

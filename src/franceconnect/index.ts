// FranceConnect domain: GLC as a FranceConnect relying party (federation, certification,
// verified_claims, logout). Its service and the local mock are built by the composition root
// (franceconnect/setup.ts); this returns what the app mounts.
import type { DomainParts } from '../domain-parts.js';
import type { Services } from '../services.js';
import { franceConnectRoutes } from './routes.js';

export { MOCK_ISSUER_PATH } from './setup.js';

export function registerFranceConnect(s: Services): DomainParts {
  return {
    middlewares: s.franceConnectMock ? [s.franceConnectMock] : [],
    routers: franceConnectRoutes(s),
    jobs: [
      {
        name: 'franceconnect-cleanup',
        everyMs: 10 * 60_000,
        run: async (now) => {
          const deleted = await s.franceConnect.cleanup(now);
          return deleted ? { franceConnectRowsDeleted: deleted } : undefined;
        },
      },
    ],
  };
}

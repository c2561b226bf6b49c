// Each domain plugs into the app here. Its services are built by the composition root
// (services.ts); its register function only returns what the app mounts: routers, periodic jobs
// and middlewares. It mutates nothing, so the order below is the order of routes only.
import type { DomainParts } from './domain-parts.js';
import type { Services } from './services.js';
import { registerAccountArea } from './accounts/index.js';
import { registerAdmin } from './admin/index.js';
import { registerConsent } from './consent/index.js';
import { registerDeletion } from './deletion/index.js';
import { registerFranceConnect } from './franceconnect/index.js';
import { registerOidc } from './oidc/index.js';
import { registerStatistics } from './statistics/index.js';

export type { DomainParts } from './domain-parts.js';

export async function registerDomains(s: Services): Promise<Required<DomainParts>> {
  const parts = [
    registerOidc(s),
    registerDeletion(s),
    await registerAccountArea(s),
    registerConsent(s),
    registerFranceConnect(s),
    registerAdmin(s),
    registerStatistics(s),
  ];
  return {
    routers: parts.flatMap((p) => p.routers ?? []),
    jobs: parts.flatMap((p) => p.jobs ?? []),
    middlewares: parts.flatMap((p) => p.middlewares ?? []),
  };
}

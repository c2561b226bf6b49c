// Each domain plugs into the app here: it builds its service (assigned on Services), registers
// its provider hooks, and returns its routers and periodic jobs. Order matters only for routes.
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Job } from './jobs/scheduler.js';
import type { Services } from './services.js';
import { registerAccountArea } from './accounts/index.js';
import { registerConsent } from './consent/index.js';
import { registerDeletion } from './deletion/index.js';
import { registerFranceConnect } from './franceconnect/index.js';

/** middlewares: mounted before every router (e.g. the in-process FranceConnect mock). */
export interface DomainParts { routers?: Router[]; jobs?: Job[]; middlewares?: Koa.Middleware[] }

export async function registerDomains(s: Services): Promise<Required<DomainParts>> {
  const parts = [
    await registerDeletion(s),
    await registerAccountArea(s),
    await registerConsent(s),
    await registerFranceConnect(s),
  ];
  return { routers: parts.flatMap((p) => p.routers ?? []), jobs: parts.flatMap((p) => p.jobs ?? []), middlewares: parts.flatMap((p) => p.middlewares ?? []) };
}

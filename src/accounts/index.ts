import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';
import { accountAreaRoutes } from './area-routes.js';
import { ensureAccountClient } from './session.js';

export async function registerAccountArea(s: Services): Promise<DomainParts> {
  await ensureAccountClient(s);
  return { routers: [accountAreaRoutes(s)] };
}

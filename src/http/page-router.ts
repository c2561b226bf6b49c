// Every router of GLC's own pages parses forms and checks CSRF; the provider's endpoints do not
// pass through here (oidc-provider parses its own bodies).
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Services } from '../services.js';
import { csrfProtection } from './csrf.js';
import { checkFormBody } from './input.js';

export function pageRouter(s: Services, prefix?: string): Router {
  const router = new Router(prefix ? { prefix } : {});
  router.use(bodyParser({ enableTypes: ['form'], formLimit: '64kb', onError: (_err, ctx) => ctx.throw(400, 'unreadable form') }));
  router.use(checkFormBody());
  router.use(csrfProtection(s.secrets));
  return router;
}

// GET /metrics (Prometheus text format), on the main port but only for whoever holds
// METRICS_TOKEN (Authorization: Bearer …): without the setting the path does not exist (404),
// without the right token it answers 401. Plus the middleware timing every request by route.
import { timingSafeEqual, createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Metrics } from './metrics.js';

// node-oidc-provider's endpoints (its routes are not Koa router patterns GLC can see).
const PROVIDER_ROUTES: [RegExp, string][] = [
  [/^\/auth\/[^/]+$/, '/auth/:uid'],
  [/^\/auth$/, '/auth'],
  [/^\/token$/, '/token'],
  [/^\/me$/, '/me'],
  [/^\/jwks$/, '/jwks'],
  [/^\/token\/introspection$/, '/token/introspection'],
  [/^\/token\/revocation$/, '/token/revocation'],
  [/^\/session\/end(\/confirm|\/success)?$/, '/session/end'],
  [/^\/\.well-known\/openid-configuration$/, '/.well-known/openid-configuration'],
];

export function routeLabel(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  if (typeof matched === 'string') return matched;
  for (const [pattern, label] of PROVIDER_ROUTES) if (pattern.test(ctx.path)) return label;
  return 'other';
}

/** Outermost middleware: duration of every request, labelled by route pattern and status class. */
export function requestMetrics(metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const end = metrics.requestDuration.startTimer();
    try {
      await next();
    } finally {
      // The provider writes its responses itself: the status is the raw response's.
      end({ route: routeLabel(ctx), method: ctx.method, status: `${Math.floor(ctx.res.statusCode / 100)}xx` });
    }
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function metricsRoutes(token: string | undefined, collect: () => Promise<{ contentType: string; body: string }>): Router {
  const router = new Router();
  if (!token) return router;
  const expected = digest(token);
  router.get('/metrics', async (ctx) => {
    const given = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    ctx.set('Cache-Control', 'no-store');
    if (!given || !timingSafeEqual(digest(given), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return;
    }
    const { contentType, body } = await collect();
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}

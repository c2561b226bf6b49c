// Koa composition: logs, errors, security headers, GLC's pages, then node-oidc-provider.
import Koa from 'koa';
import type Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Services } from './services.js';
import { errorHandler, requestLog, securityHeaders } from './http/middleware.js';
import { forceSecureCookies, trustProxies } from './http/proxy.js';
import { refuseControlCharactersInUrl } from './http/input.js';
import { opsRoutes } from './http/ops-routes.js';
import { staticPageRoutes } from './http/static-pages.js';
import { docsRoutes } from './docs/routes.js';
import { helpRoutes } from './help/routes.js';
import { interactionRoutes } from './interactions/routes.js';
import { accountRoutes } from './accounts/routes.js';
import { devMailboxRoutes } from './mail/dev-routes.js';
import { metricsRoutes, requestMetrics } from './metrics/routes.js';
import { collectMetrics } from './metrics/cluster.js';

// Paths served by oidc-provider (its default routes).
const PROVIDER_PATHS = /^\/(auth|token|me|jwks|session\/end|request|reg|backchannel|device|\.well-known\/openid-configuration)(\/|$)/;

export function createApp(s: Services, extraRouters: Router[] = [], extraMiddlewares: Koa.Middleware[] = []): Koa {
  const app = new Koa();
  app.keys = s.secrets.cookieKeys;
  trustProxies(app, s.config.trustProxyHops);
  if (s.config.production) forceSecureCookies(app);
  app.silent = true;

  if (s.config.metricsEnabled) app.use(requestMetrics(s.metrics));
  app.use(requestLog(s.log));
  app.use(
    securityHeaders({ production: s.config.production, alwaysAllowedFormTargets: [s.config.franceConnect.issuer ?? s.config.issuer] }),
  );
  app.use(errorHandler(s.log));
  app.use(refuseControlCharactersInUrl());

  // Protocol endpoints first: no GLC router or domain middleware serves these paths, and the
  // hot paths (token, userinfo, authorize) need not cross every router to reach the provider.
  // The provider may be replaced (key rotation): always delegate to the current one.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  app.use(async (ctx, next) => {
    if (!PROVIDER_PATHS.test(ctx.path)) return next();
    let callback = callbacks.get(s.provider);
    if (!callback) callbacks.set(s.provider, (callback = s.provider.callback()));
    ctx.respond = false;
    await callback(ctx.req, ctx.res);
  });

  for (const middleware of extraMiddlewares) app.use(middleware);
  const routers = [
    metricsRoutes(s.config.metricsToken, () => collectMetrics(s.metrics.registry)),
    opsRoutes(s),
    staticPageRoutes(s.config),
    docsRoutes(),
    helpRoutes(s),
    interactionRoutes(s),
    accountRoutes(s),
    ...extraRouters,
  ];
  if (s.devMailbox) routers.push(devMailboxRoutes(s.devMailbox));
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods());

  return app;
}

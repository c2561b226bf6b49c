// Koa composition: logs, errors, security headers, GLC's pages, then node-oidc-provider.
import Koa from 'koa';
import type Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Services } from './services.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { forceSecureCookies, trustProxies } from './http/proxy.js';
import { opsRoutes } from './http/ops-routes.js';
import { staticPageRoutes } from './http/static-pages.js';
import { docsRoutes } from './docs/routes.js';
import { helpRoutes } from './help/routes.js';
import { interactionRoutes } from './interactions/routes.js';
import { accountRoutes } from './accounts/routes.js';
import { devMailboxRoutes } from './mail/dev-routes.js';
import { metricsRoutes } from './metrics/routes.js';
import { collectMetrics } from './metrics/cluster.js';

// Paths served by oidc-provider (its default routes).
const PROVIDER_PATHS = /^\/(auth|token|me|jwks|session\/end|request|reg|backchannel|device|\.well-known\/openid-configuration)(\/|$)/;

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  if (url.startsWith('/')) {
    const query = url.indexOf('?');
    return query < 0 ? url : url.slice(0, query);
  }
  try {
    return new URL(url).pathname; // absolute form (GET http://host/token HTTP/1.1)
  } catch {
    return url;
  }
}

/**
 * The HTTP server's handler: protocol paths straight to the provider's own Koa app (it carries
 * the same edge middlewares, see http/edge.ts), everything else to GLC's app. The provider may be
 * replaced (key rotation): each request goes to the current one.
 */
export function requestHandler(s: Services, app: Koa): (req: IncomingMessage, res: ServerResponse) => void {
  const glc = app.callback();
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  return (req, res) => {
    if (!PROVIDER_PATHS.test(pathOf(req.url))) return void glc(req, res);
    const provider = s.provider;
    let callback = callbacks.get(provider);
    if (!callback) callbacks.set(provider, (callback = provider.callback()));
    void callback(req, res);
  };
}

export function createApp(s: Services, extraRouters: Router[] = [], extraMiddlewares: Koa.Middleware[] = []): Koa {
  const app = new Koa();
  // Koa passes it to the `cookies` package, which takes a Keygrip-shaped object as well as an array.
  app.keys = s.secrets.cookieKeys as unknown as string[];
  trustProxies(app, s.config.trustProxyHops);
  if (s.config.production) forceSecureCookies(app);
  app.silent = true;

  for (const middleware of s.edge) app.use(middleware);

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

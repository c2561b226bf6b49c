// What every request crosses first, GLC's pages and the protocol endpoints alike: timing by
// route, the request log line, security headers, the error handler (French page, JSON or OAuth
// error, one log line) and the refusal of control characters in the URL. Installed at the head
// of GLC's Koa app and of the provider's: protocol paths go straight to the provider's app
// (app.ts), which saves a second Koa context per token or userinfo request.
import type Koa from 'koa';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { requestMetrics } from '../metrics/routes.js';
import { refuseControlCharactersInUrl } from './input.js';
import { errorHandler, requestLog, securityHeaders } from './middleware.js';

export function edgeMiddlewares(deps: {
  config: Pick<Config, 'metricsEnabled' | 'production' | 'issuer' | 'franceConnect'>;
  log: Logger;
  metrics: Metrics;
}): Koa.Middleware[] {
  const { config, log, metrics } = deps;
  return [
    ...(config.metricsEnabled ? [requestMetrics(metrics)] : []),
    requestLog(log),
    securityHeaders({ production: config.production, alwaysAllowedFormTargets: [config.franceConnect.issuer ?? config.issuer] }),
    errorHandler(log),
    refuseControlCharactersInUrl(),
  ];
}

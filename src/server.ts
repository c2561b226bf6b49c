// Start-up and shut-down of one GLC instance: config → db → migrations → services → app →
// listen → jobs. Used by main.ts and by the tests, which start real servers this way.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import { loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import type { DestinationStream } from 'pino';
import { createLogger } from './log.js';
import { createServices, type Services } from './services.js';
import { createApp, requestHandler } from './app.js';
import { answerParserErrors } from './http/parser-errors.js';
import { startScheduler, type JobStatus, type Scheduler } from './jobs/scheduler.js';
import { demoRoutes, ensureDemoClient } from './demo/routes.js';
import { registerDomains } from './domains.js';
import { KEY_RELOAD_MS } from './oidc/keys.js';
import { deliverBackchannelLogout } from './oidc/sessions.js';
import { deliverMail } from './outbox/queue.js';

export interface RunningGlc {
  config: Config;
  services: Services;
  /** The periodic jobs of this instance, with their last run. */
  scheduler: Scheduler;
  server: http.Server;
  url: string;
  stop(): Promise<void>;
}

export async function startGlc(
  env: Record<string, string | undefined> = process.env,
  options: { listen?: boolean; config?: Config; logDestination?: DestinationStream; firstJobRunAfterMs?: number } = {},
): Promise<RunningGlc> {
  const config = options.config ?? loadConfig(env);
  const log = createLogger(config.logLevel, options.logDestination);
  const db = await openDatabase(config);
  let started: Services | undefined;
  try {
    await migrateToLatest(db);
    const services = await createServices(config, db, log);
    started = services;
    const domains = await registerDomains(services);
    const routers: Router[] = [...domains.routers];
    if (!config.production) routers.push(demoRoutes(services, await ensureDemoClient(services)));

    const app = createApp(services, routers, domains.middlewares);
    const server = http.createServer(requestHandler(services, app));
    server.keepAliveTimeout = 5_000;
    server.on('clientError', answerParserErrors(log));
    if (options.listen !== false) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, () => resolve());
      });
    }
    const port = (server.address() as AddressInfo | null)?.port ?? config.port;
    const scheduler = startScheduler(db, log, domains.jobs, {
      firstRunAfterMs: options.firstJobRunAfterMs,
      onTurn: services.metrics.jobRun,
    });
    // The console's jobs page reads this instance's scheduler (built after the routers).
    (app.context as { jobsStatus?: () => JobStatus[] }).jobsStatus = () => scheduler.status();
    // Every instance works the queue of outgoing mail and back-channel logouts.
    await services.outbox.work({
      mail: (job) => deliverMail(services.mailTransport, log, job),
      logout: (job) => deliverBackchannelLogout(services, job),
    });
    const keyCheck = setInterval(() => {
      services.reloadProviderIfKeysChanged().catch((err: Error) => log.error({ err: { message: err.message } }, 'key reload failed'));
    }, KEY_RELOAD_MS).unref();

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        services.shuttingDown = true;
        clearInterval(keyCheck);
        // Stop accepting, let in-flight requests finish, then close idle keep-alive sockets.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
        server.closeAllConnections();
        await scheduler.stop();
        await services.accounts.settled(); // mails of answers already sent
        await services.outbox.stop();
        await db.destroy();
      })();
      return stopping;
    };
    return { config, services, scheduler, server, url: `http://localhost:${port}`, stop };
  } catch (err) {
    await started?.outbox.stop().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
}

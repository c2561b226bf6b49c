// `npm start`: one GLC instance. A bad setting stops here with one clear line, exit code 1.
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { runPrimary } from './cluster.js';
import { createLogger, type Logger } from './log.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration invalide — ${err.variable} : ${err.expected}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config.workers, createLogger(config.logLevel));
  // Signals are taken before the start: the server answers its first readiness probe before the
  // rest of the start (job queue, demo service) is done, and an orchestrator may stop the
  // container right then. A signal during the start waits for it to finish, then stops cleanly;
  // without a listener it killed the process mid-request.
  // `on`, not `once`: under `npm start` tsx may relay a signal the process already received
  // (a process-group kill reaches both); with no listener left the second one would kill the
  // process mid-request. A repeated signal joins the shutdown already under way.
  // What a stop needs of server.ts's RunningGlc; set once the start is done.
  let glc: { services: { log: Logger }; stop(): Promise<void> } | undefined = undefined;
  let signalled: string | undefined;
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    signalled ??= signal;
    if (!glc || shuttingDown) return;
    shuttingDown = true;
    const log = glc.services.log;
    log.info({ signal }, 'shutting down');
    glc.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: { message: err.message } }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Loaded here, not above: the cluster's primary serves nothing and would spend most of a cold
  // start loading the whole application before forking its workers.
  const { startGlc } = await import('./server.js');
  const running = await startGlc(process.env, { config });
  const log = running.services.log;
  log.info(
    { issuer: config.issuer, port: config.port, database: config.databaseUrl ? 'postgresql' : 'embedded-postgresql' },
    'GrandLyon Connect started',
  );
  if (!config.production && cluster.isPrimary && !signalled) {
    // examples/commune-site: its `npm start` then needs no other step.
    const { ensureCommuneSiteClient } = await import('./demo/commune-site.js');
    await ensureCommuneSiteClient(running.services);
    process.stdout.write(
      [
        '',
        `  GrandLyon Connect tourne sur ${config.issuer}`,
        `  • Service de démonstration : ${config.issuer}/demo`,
        `  • Boîte aux lettres de développement : ${config.issuer}/dev/mailbox`,
        `  • Découverte OpenID : ${config.issuer}/.well-known/openid-configuration`,
        `  • Site d’exemple d’une commune (enregistré, identifiants dans ${config.dataDir}/commune-site.json) :`,
        '    cd examples/commune-site && npm install && npm start → http://localhost:3001',
        '',
      ].join('\n') + '\n',
    );
  }
  glc = running;
  if (signalled) shutdown(signalled);
}

main().catch((err: Error) => {
  process.stderr.write(`GrandLyon Connect n’a pas pu démarrer : ${err.message}\n`);
  process.exit(1);
});

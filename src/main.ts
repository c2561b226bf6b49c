// `npm start`: one GLC instance. A bad setting stops here with one clear line, exit code 1.
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { runPrimary } from './cluster.js';
import { createLogger } from './log.js';
import { startGlc } from './server.js';

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
  const glc = await startGlc(process.env, { config });
  const log = glc.services.log;
  log.info({ issuer: config.issuer, port: config.port, database: config.databaseUrl ? 'postgresql' : 'pglite' }, 'GrandLyon Connect started');
  if (!config.production && cluster.isPrimary) {
    process.stdout.write([
      '',
      `  GrandLyon Connect tourne sur ${config.issuer}`,
      `  • Service de démonstration : ${config.issuer}/demo`,
      `  • Boîte aux lettres de développement : ${config.issuer}/dev/mailbox`,
      `  • Découverte OpenID : ${config.issuer}/.well-known/openid-configuration`,
      '',
    ].join('\n') + '\n');
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    glc.stop().then(() => process.exit(0), (err: Error) => {
      log.error({ err: { message: err.message } }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`GrandLyon Connect n’a pas pu démarrer : ${err.message}\n`);
  process.exit(1);
});

// One GLC process per core (GLC_WORKERS): the primary forks workers that share the port
// (node:cluster) and restarts any that dies. Instances are stateless (everything is in
// PostgreSQL), so workers are interchangeable. The first worker migrates the database and
// creates the signing keys; the others start once it is listening.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './log.js';
import { serveClusterMetrics } from './metrics/cluster.js';

export async function runPrimary(workers: number, log: Logger): Promise<void> {
  serveClusterMetrics();
  let stopping = false;
  // Set before the first fork: a stop may come while workers are still starting (an orchestrator
  // stopping a container right after its first readiness probe). Without a handler the primary
  // died at once, cutting off the first worker mid-request and breaking the second's channel.
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down the cluster');
    const all = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    let left = all.length;
    if (!left) process.exit(0);
    for (const w of all) {
      w.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      w.process.kill(signal); // each worker drains its requests (server.ts stop()); one still starting just ends
    }
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  /** Resolves once the worker listens; rejects if it dies first, unless the cluster is stopping. */
  const started = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => {
        if (stopping) resolve();
        else reject(new Error(`le processus ${worker.process.pid} s’est arrêté au démarrage (code ${code})`));
      };
      worker.once('exit', onExit);
      worker.once('listening', () => {
        worker.off('exit', onExit);
        resolve();
      });
    });
  await started(cluster.fork());
  if (stopping) return;
  await Promise.all(Array.from({ length: workers - 1 }, () => started(cluster.fork())));
  if (stopping) return;
  log.info({ workers }, 'GrandLyon Connect cluster started');

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'worker died: restarting it');
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, 1_000).unref();
  });
}

// In cluster mode a scrape reaches one worker, but must count them all: the worker asks the
// primary, which gathers every worker's registry (prom-client's AggregatorRegistry) and answers.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'glc:metrics-request';
const RESPONSE = 'glc:metrics-response';
interface Message { type: string; id: string; body?: string; contentType?: string; error?: string }

export async function collectMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  if (!cluster.isWorker || !process.send) return { contentType: registry.contentType, body: await registry.metrics() };
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { process.off('message', onMessage); reject(new Error('metrics: no answer from the primary')); }, 5_000);
    function onMessage(message: Message) {
      if (message?.type !== RESPONSE || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error) reject(new Error(message.error));
      else resolve({ contentType: message.contentType!, body: message.body! });
    }
    process.on('message', onMessage);
    process.send!({ type: REQUEST, id });
  });
}

/** Primary side: answers the workers' requests with the sum over every worker. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Message) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: RESPONSE, id: message.id, body, contentType: aggregator.contentType }),
      (err: Error) => worker.send({ type: RESPONSE, id: message.id, error: err.message }),
    );
  });
}

// In cluster mode a scrape reaches one worker, but must count them all: the worker asks the
// primary, which collects every serving worker's registry and adds them up (prom-client's
// AggregatorRegistry.aggregate: counters and histograms summed, gauges per their rule).
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

const SCRAPE = 'glc:metrics-scrape'; // worker → primary: a scrape arrived
const RESULT = 'glc:metrics-result'; // primary → worker: the sum, as text
const COLLECT = 'glc:metrics-collect'; // primary → every worker: your registry, please
const COLLECTED = 'glc:metrics-collected'; // worker → primary: my registry as JSON
type Json = MetricObjectWithValues<MetricValue<string>>[];
interface Message {
  type: string;
  id: string;
  body?: string;
  contentType?: string;
  metrics?: Json;
}

export async function collectMetrics(registry: Registry): Promise<{ contentType: string; body: string }> {
  if (!cluster.isWorker || !process.send) return { contentType: registry.contentType, body: await registry.metrics() };
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('metrics: no answer from the primary'));
    }, 5_000);
    function onMessage(message: Message) {
      if (message?.type !== RESULT || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve({ contentType: message.contentType!, body: message.body! });
    }
    process.on('message', onMessage);
    process.send!({ type: SCRAPE, id });
  });
}

/** Worker side: hands its registry to the primary when asked. */
export function answerClusterCollects(registry: Registry): void {
  if (!cluster.isWorker) return;
  process.on('message', (message: Message) => {
    if (message?.type !== COLLECT) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECTED, id: message.id, metrics }),
      () => undefined,
    );
  });
}

/** Primary side: sums the registries of the workers that serve (a starting worker is not waited for). */
export function serveClusterMetrics(): void {
  const serving = new Set<Worker>();
  cluster.on('listening', (worker) => serving.add(worker));
  cluster.on('exit', (worker) => serving.delete(worker));
  const pending = new Map<string, { left: number; parts: Json[]; done: () => void }>();
  cluster.on('message', (worker, message: Message) => {
    if (message?.type === COLLECTED) {
      const p = pending.get(message.id);
      if (!p) return;
      p.parts.push(message.metrics!);
      if (--p.left === 0) p.done();
      return;
    }
    if (message?.type !== SCRAPE) return;
    const id = randomUUID();
    const parts: Json[] = [];
    const targets = [...serving];
    const finish = () => {
      clearTimeout(timer);
      pending.delete(id);
      const sum = AggregatorRegistry.aggregate(parts);
      sum.metrics().then(
        (body) => worker.send({ type: RESULT, id: message.id, body, contentType: sum.contentType }),
        () => undefined,
      );
    };
    // A worker that does not answer in time (busy, dying) is left out of this scrape.
    const timer = setTimeout(finish, 2_000);
    pending.set(id, { left: targets.length, parts, done: finish });
    for (const w of targets) w.send({ type: COLLECT, id });
  });
}

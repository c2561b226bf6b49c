// A GLC instance for the deletion benchmarks: fresh PostgreSQL database (like the tests),
// listening on loopback only.
import { startGlc, type RunningGlc } from '../src/server.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { freePort } from '../test/support/glc.js';

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchGlc extends RunningGlc {
  database: TestDatabase;
  close(): Promise<void>;
}

export async function startBenchGlc(): Promise<BenchGlc> {
  const database = await createTestDatabase();
  const port = await freePort();
  const glc = await startGlc(
    { NODE_ENV: 'test', PORT: String(port), ISSUER: `http://localhost:${port}`, LOG_LEVEL: 'silent', ...database.env },
    { listen: false },
  );
  await new Promise<void>((resolve, reject) => {
    glc.server.once('error', reject);
    glc.server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    ...glc,
    database,
    async close() {
      await glc.stop();
      await database.drop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const mib = (bytes: number) => Math.round(bytes / 1048576);

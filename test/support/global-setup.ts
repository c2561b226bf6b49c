// `npm test` without TEST_DATABASE_URL: one embedded PostgreSQL server for the whole run (in a
// temporary folder, fsync off), on which each test file creates its own database.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { acquireEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    glcTestDatabaseUrl: string | undefined;
  }
}

let server: EmbeddedServer | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('glcTestDatabaseUrl', undefined);
    return;
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'glc-test-postgres-'));
  chmodSync(dir, 0o711);
  server = await acquireEmbeddedPostgres({
    dataDir: dir,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
  });
  project.provide('glcTestDatabaseUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

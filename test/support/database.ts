// A fresh, empty database for each test file, on the server of TEST_DATABASE_URL or (without
// it) on the embedded PostgreSQL server that test/support/global-setup.ts starts for the run.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

export interface TestDatabase {
  env: { DATABASE_URL: string; DATA_DIR: string };
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  const base = process.env.TEST_DATABASE_URL ?? inject('glcTestDatabaseUrl');
  if (!base) throw new Error('no test database server: set TEST_DATABASE_URL or run through vitest (globalSetup)');
  return base;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'glc-test-'));
  const base = testServerUrl();
  const name = `glc_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.href, DATA_DIR: dataDir },
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `use` on a fresh database at the latest schema, dropped afterwards. */
export async function withMigratedDatabase<T>(use: (db: Db) => Promise<T>): Promise<T> {
  const database = await createTestDatabase();
  const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR });
  try {
    await migrateToLatest(db);
    return await use(db);
  } finally {
    await db.destroy();
    await database.drop();
  }
}

// Several instances starting together on an empty database (a first deployment with two
// replicas) create one signing key per algorithm, not one each (src/oidc/keys.ts, ensure).
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../src/db/database.js';
import { createKeyStore, SIGNING_ALGS } from '../src/oidc/keys.js';
import { createSecrets } from '../src/secrets.js';
import { testServerUrl, withMigratedDatabase } from './support/database.js';

describe('first signing keys', () => {
  it('four instances starting at once create one key per algorithm', async () => {
    await withMigratedDatabase(async (db) => {
      const secrets = createSecrets(randomBytes(32));
      // Each instance on its own pool, as separate processes would be.
      const url = (await db.selectNoFrom((eb) => eb.fn<string>('current_database').as('name')).executeTakeFirstOrThrow()).name;
      const base = new URL(testServerUrl());
      base.pathname = `/${url}`;
      const instances = await Promise.all(
        Array.from({ length: 4 }, () => openDatabase({ databaseUrl: base.href, dataDir: '/nonexistent' })),
      );
      try {
        await Promise.all(instances.map((instance) => createKeyStore(instance, secrets).ensure()));
        const keys = await db.selectFrom('signing_keys').select('alg').execute();
        expect(keys.map((k) => k.alg).sort()).toEqual([...SIGNING_ALGS].sort());
        // A later start adds nothing.
        await createKeyStore(db, secrets).ensure();
        expect(await db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(SIGNING_ALGS.length);
      } finally {
        await Promise.all(instances.map((instance) => instance.destroy()));
      }
    });
  });
});

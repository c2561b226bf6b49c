// Instances or workers starting together (a first deployment with two replicas, GLC_WORKERS)
// create one of each thing a first start creates, not one each: signing keys (src/oidc/keys.ts,
// ensure), the development demo service (src/demo/routes.ts).
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../src/db/database.js';
import { createKeyStore, SIGNING_ALGS } from '../src/oidc/keys.js';
import { createSecrets } from '../src/secrets.js';
import { testServerUrl, withMigratedDatabase } from './support/database.js';
import { startTestGlc } from './support/glc.js';
import { ensureDemoClient } from '../src/demo/routes.js';
import { rmSync } from 'node:fs';
import path from 'node:path';

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

  it('workers starting together register one demo service and share its secret', async () => {
    const glc = await startTestGlc();
    try {
      // As on a first start: no demo service yet, no file.
      await glc.services.db.deleteFrom('clients').where('name', '=', 'Service de démonstration').execute();
      rmSync(path.resolve(glc.config.dataDir, 'demo-client.json'), { force: true });
      const demos = await Promise.all(Array.from({ length: 3 }, () => ensureDemoClient(glc.services)));
      expect(new Set(demos.map((d) => d.clientId)).size).toBe(1);
      const rows = await glc.services.db.selectFrom('clients').select('client_id').where('name', '=', 'Service de démonstration').execute();
      expect(rows.map((r) => r.client_id)).toEqual([demos[0]!.clientId]);
    } finally {
      await glc.close();
    }
  });
});

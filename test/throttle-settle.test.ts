// A successful credential check settles its throttle reservation in one statement
// (src/http/throttle.ts, settle): the account's key is cleared, the shared key refunded, and a
// block that this attempt set is lifted while a block set by another attempt stays.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSecrets } from '../src/secrets.js';
import { createThrottle } from '../src/http/throttle.js';
import { withMigratedDatabase } from './support/database.js';

describe('throttle settlement', () => {
  it('clears the account key, refunds the shared key and lifts only its own block', async () => {
    await withMigratedDatabase(async (db) => {
      const secrets = createSecrets(randomBytes(32));
      const throttle = createThrottle(db, secrets);
      const rows = async () =>
        (await db.selectFrom('rate_limits').select(['key', 'failures', 'blocked_until']).execute()).map((r) => ({
          key: r.key === secrets.hmac('throttle', 'ip') ? 'ip' : r.key === secrets.hmac('throttle', 'email') ? 'email' : r.key,
          failures: r.failures,
          blocked: r.blocked_until !== null,
        }));
      const now = new Date();
      // Earlier failures from the address: the next attempt reaches its limit and blocks it.
      await throttle.recordFailure(['ip'], new Date(now.getTime() - 60_000), { freeFailures: 10 });
      const admission = await throttle.admit([{ key: 'email' }, { key: 'ip', freeFailures: 2 }], now);
      if (!admission.ok) throw new Error('not admitted');
      expect((await rows()).sort((a, b) => a.key.localeCompare(b.key))).toEqual([
        { key: 'email', failures: 1, blocked: false },
        { key: 'ip', failures: 2, blocked: true },
      ]);
      await throttle.settle(admission.reservation, ['email']);
      expect(await rows()).toEqual([{ key: 'ip', failures: 1, blocked: false }]);

      // A block set by another attempt in the meantime is not this attempt's to lift.
      const second = await throttle.admit([{ key: 'email' }, { key: 'ip', freeFailures: 2 }], now);
      if (!second.ok) throw new Error('not admitted');
      const later = new Date(now.getTime() + 3_600_000);
      await db.updateTable('rate_limits').set({ blocked_until: later }).where('key', '=', secrets.hmac('throttle', 'ip')).execute();
      await throttle.settle(second.reservation, ['email']);
      expect(await rows()).toEqual([{ key: 'ip', failures: 1, blocked: true }]);
    });
  });
});

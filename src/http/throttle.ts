// Throttling shared by every app instance (kept in PostgreSQL, not in process memory).
// Rules (CNIL deliberation 2022-100): after 5 failures within an hour, each new failure
// blocks the key for a doubling delay — 30 s, 1 min, 2 min … — capped at one hour.
// Keys shared by many people (a client IP address) get more free failures (freeFailures).
// Counted actions (sign-ups, reset requests, emails sent) allow `limit` uses per hour and key.
// Keys are hashed: no email or IP address is stored in clear. The rules per action are in
// src/accounts/throttle-rules.ts and docs/fiche-identite.md.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';

export const FREE_FAILURES = 5;
const WINDOW_MS = 3600_000;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3600_000;

export function delayAfter(failures: number, freeFailures = FREE_FAILURES): number {
  if (failures < freeFailures) return 0;
  return Math.min(BASE_DELAY_MS * 2 ** (failures - freeFailures), MAX_DELAY_MS);
}

export function createThrottle(db: Db, secrets: Secrets, onBlock: (kind: 'failures' | 'count') => void = () => undefined) {
  const key = (k: string) => secrets.hmac('throttle', k);
  // One statement: concurrent hits on two instances are both counted; an old window restarts.
  async function increment(k: string, now: Date): Promise<number> {
    const windowStart = new Date(now.getTime() - WINDOW_MS);
    const row = await db.insertInto('rate_limits')
      .values({ key: k, failures: 1, window_started_at: now, blocked_until: null })
      .onConflict((oc) => oc.column('key').doUpdateSet({
        failures: sql`case when rate_limits.window_started_at < ${windowStart} then 1 else rate_limits.failures + 1 end`,
        window_started_at: sql`case when rate_limits.window_started_at < ${windowStart} then ${now} else rate_limits.window_started_at end`,
      }))
      .returning('failures').executeTakeFirstOrThrow();
    return row.failures;
  }
  return {
    /** The time until which one of the keys is blocked, or null. */
    async blockedUntil(keys: string[], now: Date): Promise<Date | null> {
      const rows = await db.selectFrom('rate_limits').select('blocked_until')
        .where('key', 'in', keys.map(key)).where('blocked_until', '>', now).execute();
      const times = rows.map((r) => r.blocked_until!.getTime());
      if (!times.length) return null;
      onBlock('failures');
      return new Date(Math.max(...times));
    },

    /** Counts a failure (or a use, for counted actions) on each key and blocks when due. */
    async recordFailure(keys: string[], now: Date, options: { freeFailures?: number } = {}): Promise<void> {
      for (const k of keys.map(key)) {
        const delay = delayAfter(await increment(k, now), options.freeFailures);
        if (delay > 0) {
          await db.updateTable('rate_limits').set({ blocked_until: new Date(now.getTime() + delay) }).where('key', '=', k).execute();
        }
      }
    },

    /** Counted actions (emails sent): at most `limit` per hour per key. Returns false when over. */
    async allow(keys: string[], limit: number, now: Date): Promise<boolean> {
      let allowed = true;
      for (const k of keys.map((x) => key(`count:${x}`))) {
        if ((await increment(k, now)) > limit) allowed = false;
      }
      if (!allowed) onBlock('count');
      return allowed;
    },

    /** Like allow(), and says when the first exhausted key allows again (end of its hour). */
    async consume(keys: string[], limit: number, now: Date): Promise<{ ok: true } | { ok: false; retryAt: Date }> {
      let retryAt: Date | undefined;
      for (const k of keys.map((x) => key(`count:${x}`))) {
        if ((await increment(k, now)) <= limit) continue;
        const row = await db.selectFrom('rate_limits').select('window_started_at').where('key', '=', k).executeTakeFirst();
        const at = new Date((row?.window_started_at ?? now).getTime() + WINDOW_MS);
        if (!retryAt || at > retryAt) retryAt = at;
      }
      if (!retryAt) return { ok: true };
      onBlock('count');
      return { ok: false, retryAt };
    },

    async reset(keys: string[]): Promise<void> {
      await db.deleteFrom('rate_limits').where('key', 'in', keys.map(key)).execute();
    },

    async deleteStale(now: Date): Promise<void> {
      await db.deleteFrom('rate_limits')
        .where('window_started_at', '<', new Date(now.getTime() - WINDOW_MS))
        .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', now)])).execute();
    },
  };
}
export type Throttle = ReturnType<typeof createThrottle>;

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

/** One key of a credential check, with its free failures (an IP is shared by many people). */
export interface AdmissionKey {
  key: string;
  freeFailures?: number;
}
/** What a refund needs: the hashed keys reserved and the block each reservation set, if any. */
export interface Reservation {
  keys: { key: string; blockedUntil: Date | null }[];
}
export type Admission = { ok: true; reservation: Reservation } | { ok: false; until: Date };

/** How keys are stored: hashed (no address or IP in the table), counted actions under a prefix of their own. */
export function storedKeys(secrets: Pick<Secrets, 'hmac'>, keys: { failures: string[]; counters: string[] }): string[] {
  return [...keys.failures, ...keys.counters.map((k) => `count:${k}`)].map((k) => secrets.hmac('throttle', k));
}

export function createThrottle(db: Db, secrets: Secrets, onBlock: (kind: 'failures' | 'count') => void = () => undefined) {
  const key = (k: string) => secrets.hmac('throttle', k);
  // One statement: concurrent hits on two instances are both counted; an old window restarts.
  async function increment(k: string, now: Date): Promise<number> {
    const windowStart = new Date(now.getTime() - WINDOW_MS);
    const row = await db
      .insertInto('rate_limits')
      .values({ key: k, failures: 1, window_started_at: now, blocked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when rate_limits.window_started_at < ${windowStart} then 1 else rate_limits.failures + 1 end`,
          window_started_at: sql`case when rate_limits.window_started_at < ${windowStart} then ${now} else rate_limits.window_started_at end`,
        }),
      )
      .returning('failures')
      .executeTakeFirstOrThrow();
    return row.failures;
  }
  async function refundHashed(reservation: Reservation): Promise<void> {
    for (const { key: k, blockedUntil } of reservation.keys) {
      await db
        .updateTable('rate_limits')
        .set({
          failures: sql`greatest(failures - 1, 0)`,
          blocked_until: blockedUntil
            ? sql`case when blocked_until = ${blockedUntil} then null else blocked_until end`
            : sql`blocked_until`,
        })
        .where('key', '=', k)
        .execute();
    }
  }
  return {
    /**
     * Admits one credential check (password verification) on every key, atomically: one
     * statement counts the attempt as a failure *before* the password is verified, and sets the
     * block its count calls for. Rows are locked by the upsert, so concurrent checks — on any
     * instance — are serialised per key, and a key blocked by an attempt still in flight refuses
     * the next ones. No interleaving evaluates more guesses than the rule allows.
     * Keys are taken in a fixed (sorted) order so two multi-key statements cannot deadlock.
     * On success, the caller clears (reset) or refunds the reservation.
     */
    async admit(rules: AdmissionKey[], now: Date): Promise<Admission> {
      const byKey = new Map<string, number>();
      for (const r of rules) byKey.set(key(r.key), r.freeFailures ?? FREE_FAILURES);
      const input = [...byKey].sort(([a], [b]) => (a < b ? -1 : 1));
      const windowStart = new Date(now.getTime() - WINDOW_MS);
      const values = sql.join(input.map(([k, free]) => sql`(${k}::text, ${free}::int)`));
      // Failures after this attempt, and the block they call for (delayAfter() in SQL).
      const newFailures = sql`case when r.window_started_at < ${windowStart} then 1 else r.failures + 1 end`;
      const blockFor = (failures: ReturnType<typeof sql>, free: ReturnType<typeof sql>) =>
        sql`case when ${failures} >= ${free} then ${now}::timestamptz + least(${BASE_DELAY_MS} * power(2, ${failures} - ${free}), ${MAX_DELAY_MS}) * interval '1 millisecond' end`;
      const { rows } = await sql<{ key: string; blocked_until: Date | null }>`
        with input(key, free) as (values ${values})
        insert into rate_limits as r (key, failures, window_started_at, blocked_until)
        select key, 1, ${now}::timestamptz, ${blockFor(sql`1`, sql`free`)} from input order by key
        on conflict (key) do update set
          failures = ${newFailures},
          window_started_at = case when r.window_started_at < ${windowStart} then ${now}::timestamptz else r.window_started_at end,
          blocked_until = ${blockFor(newFailures, sql`(select free from input where input.key = r.key)`)}
        where r.blocked_until is null or r.blocked_until <= ${now}::timestamptz
        returning r.key, r.blocked_until`.execute(db);
      const reservation: Reservation = { keys: rows.map((r) => ({ key: r.key, blockedUntil: r.blocked_until })) };
      if (rows.length === input.length) return { ok: true, reservation };
      // A key was blocked: this attempt is not evaluated; give back what the others reserved.
      await refundHashed(reservation);
      const blocked = await db
        .selectFrom('rate_limits')
        .select('blocked_until')
        .where(
          'key',
          'in',
          input.map(([k]) => k),
        )
        .where('blocked_until', '>', now)
        .execute();
      const times = blocked.map((r) => r.blocked_until!.getTime());
      return { ok: false, until: new Date(times.length ? Math.max(...times) : now.getTime() + BASE_DELAY_MS) };
    },

    /** The attempt succeeded: it was not a failure. Lifts the block this reservation set (if any). */
    async refund(reservation: Reservation, only?: string[]): Promise<void> {
      const keep = only ? new Set(only.map(key)) : undefined;
      await refundHashed({ keys: reservation.keys.filter((k) => !keep || keep.has(k.key)) });
    },

    /**
     * The attempt succeeded, in one statement: the failures of `reset` keys are cleared (the
     * account's own key), the reservation is refunded on the others (the shared IP key).
     */
    async settle(reservation: Reservation, reset: string[]): Promise<void> {
      const cleared = [...new Set(reset.map(key))];
      const refunds = reservation.keys.filter((k) => !cleared.includes(k.key));
      await sql`
        with cleared as (delete from rate_limits where key = any(${cleared}::text[]))
        update rate_limits as r set
          failures = greatest(r.failures - 1, 0),
          blocked_until = case when r.blocked_until = x.blocked_until then null else r.blocked_until end
        from unnest(${refunds.map((k) => k.key)}::text[], ${refunds.map((k) => k.blockedUntil)}::timestamptz[]) as x(key, blocked_until)
        where r.key = x.key`.execute(db);
    },

    /** The time until which one of the keys is blocked, or null. */
    async blockedUntil(keys: string[], now: Date): Promise<Date | null> {
      const rows = await db
        .selectFrom('rate_limits')
        .select('blocked_until')
        .where('key', 'in', keys.map(key))
        .where('blocked_until', '>', now)
        .execute();
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
          await db
            .updateTable('rate_limits')
            .set({ blocked_until: new Date(now.getTime() + delay) })
            .where('key', '=', k)
            .execute();
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
      await db
        .deleteFrom('rate_limits')
        .where('window_started_at', '<', new Date(now.getTime() - WINDOW_MS))
        .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', now)]))
        .execute();
    },
  };
}
export type Throttle = ReturnType<typeof createThrottle>;

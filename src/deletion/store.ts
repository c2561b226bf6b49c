// Every query of the deletion domain: subjects known by services, deletion records (the feed
// services poll), inactivity warnings, and the set-based deletion of accounts. Functions that
// take `q` run inside the caller's transaction.
import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { DeletedAccountTable } from './tables.js';

type Q = Kysely<Database>;
export type DeletionReason = DeletedAccountTable['reason'];

/** Protocol rows that carry an accountId (index oidc_payloads_account). */
const ACCOUNT_MODELS = ['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode'];

/**
 * Serialises the insertion of deletion records until commit: ids become visible in the order
 * they were drawn, so a service's cursor never passes over a record committed later.
 */
const FEED_LOCK = 7_006_100;

export interface AccountToDelete {
  id: string;
  email: string | null;
  email_verified_at: Date | null;
}
export interface FeedRecord {
  id: number;
  sub: string;
  deleted_at: Date;
  reason: DeletionReason;
}

const uuids = (ids: string[]) => sql<boolean>`id = any(${ids}::uuid[])`;
const payloadAccount = (ids: string[]) => sql<boolean>`payload->>'accountId' = any(${ids}::text[])`;

export function createDeletionStore(db: Db) {
  return {
    async recordSubject(accountId: string, clientId: string, sub: string, now: Date): Promise<void> {
      await db
        .insertInto('account_subjects')
        .values({ account_id: accountId, client_id: clientId, sub, first_seen_at: now })
        .onConflict((oc) => oc.columns(['account_id', 'client_id']).doNothing())
        .execute();
    },

    // ── Deletion (inside one transaction) ────────────────────────────────────────────────
    lockAccounts: (q: Q, ids: string[], options: { inactiveSince?: Date; skipLocked?: boolean } = {}): Promise<AccountToDelete[]> =>
      q
        .selectFrom('accounts')
        .select(['id', 'email', 'email_verified_at'])
        .where(uuids(ids))
        .$if(options.inactiveSince !== undefined, (qb) => qb.where('last_activity_at', '<=', options.inactiveSince!))
        .orderBy('id')
        .forUpdate()
        .$if(options.skipLocked === true, (qb) => qb.skipLocked())
        .execute(),

    inactiveIds: async (cutoff: Date, limit: number, exclude: string[]): Promise<string[]> =>
      (
        await db
          .selectFrom('accounts')
          .select('id')
          .where('last_activity_at', '<=', cutoff)
          .$if(exclude.length > 0, (qb) => qb.where(sql<boolean>`not (id = any(${exclude}::uuid[]))`))
          .orderBy('last_activity_at')
          .orderBy('id')
          .limit(limit)
          .execute()
      ).map((r) => r.id),

    /** Accounts inactive since `cutoff`, locked; rows locked by another run are left to it. */
    lockInactive: (q: Q, cutoff: Date, limit: number, exclude: string[]): Promise<AccountToDelete[]> =>
      q
        .selectFrom('accounts')
        .select(['id', 'email', 'email_verified_at'])
        .where('last_activity_at', '<=', cutoff)
        .$if(exclude.length > 0, (qb) => qb.where(sql<boolean>`not (id = any(${exclude}::uuid[]))`))
        .orderBy('last_activity_at')
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute(),

    subjectsOf: (q: Q, ids: string[]) =>
      q
        .selectFrom('account_subjects')
        .select(['account_id', 'client_id', 'sub'])
        .where(sql<boolean>`account_id = any(${ids}::uuid[])`)
        .execute(),

    /** Services holding a grant (consent) for the accounts, with their registration. */
    grantClientsOf: (q: Q, ids: string[]) =>
      q
        .selectFrom('oidc_payloads')
        .innerJoin('clients', (join) => join.on(sql<boolean>`clients.client_id = oidc_payloads.payload->>'clientId'`))
        .select([sql<string>`oidc_payloads.payload->>'accountId'`.as('account_id'), 'clients.client_id', 'clients.metadata'])
        .where('model', '=', 'Grant')
        .where(payloadAccount(ids))
        .distinct()
        .execute(),

    async deleteProtocolRows(q: Q, ids: string[]): Promise<void> {
      await q.deleteFrom('oidc_payloads').where('model', 'in', ACCOUNT_MODELS).where(payloadAccount(ids)).execute();
      // Interactions under way (short-lived) may name the account too.
      await q
        .deleteFrom('oidc_payloads')
        .where('model', '=', 'Interaction')
        .where((eb) =>
          eb.or([
            eb(sql`payload->'session'->>'accountId'`, '=', sql`any(${ids}::text[])`),
            eb(sql`payload->'result'->'login'->>'accountId'`, '=', sql`any(${ids}::text[])`),
          ]),
        )
        .execute();
    },

    /** Deletes the accounts (their rows in other tables go by ON DELETE CASCADE). */
    async deleteAccountRows(q: Q, ids: string[]): Promise<string[]> {
      const rows = await q.deleteFrom('accounts').where(uuids(ids)).returning('id').execute();
      return rows.map((r) => r.id);
    },

    /** Appends records to the feed; must be the last statement before commit (holds FEED_LOCK). */
    async appendRecords(q: Q, records: { clientId: string; sub: string }[], reason: DeletionReason, now: Date): Promise<void> {
      if (!records.length) return;
      await sql`select pg_advisory_xact_lock(${FEED_LOCK})`.execute(q);
      await sql`insert into deleted_accounts (client_id, sub, deleted_at, reason)
        select c, s, ${now}, ${reason} from unnest(${records.map((r) => r.clientId)}::text[], ${records.map((r) => r.sub)}::text[]) as t(c, s)`.execute(
        q,
      );
    },

    // ── Inactivity ───────────────────────────────────────────────────────────────────────
    countInactive: async (cutoff: Date): Promise<number> =>
      Number(
        (
          await db
            .selectFrom('accounts')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('last_activity_at', '<=', cutoff)
            .executeTakeFirstOrThrow()
        ).n,
      ),

    /**
     * Claims up to `limit` accounts for the warning « `days` days before deletion »: inactive
     * since `from` (but not due for deletion), with a verified email, not yet warned at this
     * stage or a later one for their current period of inactivity. The insert is the claim:
     * of two concurrent runs, one only gets each account.
     */
    async claimWarnings(
      days: number,
      from: Date,
      dueCutoff: Date,
      now: Date,
      limit: number,
    ): Promise<{ account_id: string; activity_at: Date }[]> {
      const result = await sql<{ account_id: string; activity_at: Date }>`
        insert into inactivity_warnings (account_id, days_before, activity_at, sent_at)
        select a.id, ${days}, a.last_activity_at, ${now} from accounts a
        where a.last_activity_at <= ${from} and a.last_activity_at > ${dueCutoff}
          and a.email is not null and a.email_verified_at is not null
          and not exists (select 1 from inactivity_warnings w
            where w.account_id = a.id and w.activity_at = a.last_activity_at and w.days_before <= ${days})
        order by a.last_activity_at, a.id
        limit ${limit}
        on conflict do nothing
        returning account_id, activity_at`.execute(db);
      return result.rows;
    },

    countWarnable: async (days: number, from: Date, dueCutoff: Date, withEmail: boolean): Promise<number> => {
      const row = await sql<{ n: number }>`
        select count(*)::int as n from accounts a
        where a.last_activity_at <= ${from} and a.last_activity_at > ${dueCutoff}
          and ${withEmail ? sql`a.email is not null and a.email_verified_at is not null` : sql`(a.email is null or a.email_verified_at is null)`}
          and not exists (select 1 from inactivity_warnings w
            where w.account_id = a.id and w.activity_at = a.last_activity_at and w.days_before <= ${days})`.execute(db);
      return row.rows[0]?.n ?? 0;
    },

    emailsOf: (ids: string[]) => db.selectFrom('accounts').select(['id', 'email', 'last_activity_at']).where(uuids(ids)).execute(),

    async unclaimWarning(accountId: string, days: number, activityAt: Date): Promise<void> {
      await db
        .deleteFrom('inactivity_warnings')
        .where('account_id', '=', accountId)
        .where('days_before', '=', days)
        .where('activity_at', '=', activityAt)
        .execute();
    },

    /** Warnings of a finished period of inactivity (the account was used since). */
    async deleteStaleWarnings(): Promise<number> {
      const r =
        await sql`delete from inactivity_warnings w using accounts a where w.account_id = a.id and w.activity_at <> a.last_activity_at`.execute(
          db,
        );
      return Number(r.numAffectedRows ?? 0);
    },

    /** Removes records older than the retention, in slices (the table may be large). */
    async deleteRecordsBefore(before: Date, slice = 10_000): Promise<number> {
      let total = 0;
      for (;;) {
        const r =
          await sql`delete from deleted_accounts where id in (select id from deleted_accounts where deleted_at < ${before} order by deleted_at limit ${slice})`.execute(
            db,
          );
        const n = Number(r.numAffectedRows ?? 0);
        total += n;
        if (n < slice) return total;
      }
    },

    // ── Feed ─────────────────────────────────────────────────────────────────────────────
    /**
     * The same page as JSON built by PostgreSQL (the API's hot path: no per-row work in Node).
     * Reads limit + 1 rows to tell whether more follow.
     */
    async feedPageJson(
      clientId: string,
      afterId: number,
      limit: number,
    ): Promise<{ items: string; lastId: number | null; hasMore: boolean }> {
      const { rows } = await sql<{ items: string; last_id: number | null; more: boolean }>`
        select coalesce(json_agg(json_build_object(
                 'sub', sub,
                 'deleted_at', to_char(deleted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                 'reason', reason) order by id) filter (where n <= ${limit}), '[]')::text as items,
               max(id) filter (where n <= ${limit}) as last_id,
               count(*) > ${limit} as more
        from (select id, sub, deleted_at, reason, row_number() over (order by id) as n
              from (select id, sub, deleted_at, reason from deleted_accounts
                    where client_id = ${clientId} and id > ${afterId} order by id limit ${limit + 1}) page) numbered`.execute(db);
      const row = rows[0]!;
      return { items: row.items, lastId: row.last_id === null ? null : Number(row.last_id), hasMore: row.more };
    },

    // ── Security events (RFC 8936 poll) ──────────────────────────────────────────────────

    /** The service's stream, locked for the transaction (one poll of a service applies its acks at a time). */
    async lockStream(q: Q, clientId: string): Promise<number> {
      await q
        .insertInto('security_event_streams')
        .values({ client_id: clientId })
        .onConflict((oc) => oc.column('client_id').doNothing())
        .execute();
      const row = await q
        .selectFrom('security_event_streams')
        .select('acked_through')
        .where('client_id', '=', clientId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      return Number(row.acked_through);
    },

    /**
     * Acknowledges records of this service (others' ids and unknown ids are ignored). The stream's
     * mark moves over every acknowledged record that follows it, counting those being
     * acknowledged now; only acknowledgements above the new mark are kept one by one (and those
     * carrying an error, until their record expires). Safe because records become visible in id
     * order (FEED_LOCK): no record below a visible one can appear later.
     */
    async acknowledge(
      q: Q,
      clientId: string,
      mark: number,
      acks: { id: number; err?: string; description?: string }[],
      now: Date,
    ): Promise<number> {
      const ids = acks.map((a) => a.id);
      const { rows } = await sql<{ gap: number | null; last: number | null }>`
        select (select d.id from deleted_accounts d
                 where d.client_id = ${clientId} and d.id > ${mark}
                   and not exists (select 1 from security_event_acks a where a.record_id = d.id)
                   and not (d.id = any(${ids}::bigint[]))
                 order by d.id limit 1) as gap,
               (select d.id from deleted_accounts d where d.client_id = ${clientId} and d.id > ${mark}
                 order by d.id desc limit 1) as last`.execute(q);
      const { gap, last } = rows[0]!;
      const newMark = gap !== null ? Number(gap) - 1 : last !== null ? Number(last) : mark;
      const kept = acks.filter((a) => a.id > newMark || (a.err !== undefined && a.id > mark));
      if (kept.length) {
        await sql`insert into security_event_acks (record_id, client_id, acked_at, err, description)
          select d.id, d.client_id, ${now}, a.err, a.description
          from unnest(${kept.map((a) => a.id)}::bigint[], ${kept.map((a) => a.err ?? null)}::text[], ${kept.map((a) => a.description ?? null)}::text[]) as a(id, err, description)
          join deleted_accounts d on d.id = a.id and d.client_id = ${clientId}
          on conflict (record_id) do nothing`.execute(q);
      }
      if (newMark > mark) {
        await q
          .updateTable('security_event_streams')
          .set({ acked_through: newMark, updated_at: now })
          .where('client_id', '=', clientId)
          .execute();
        await q
          .deleteFrom('security_event_acks')
          .where('client_id', '=', clientId)
          .where('record_id', '<=', newMark)
          .where('err', 'is', null)
          .execute();
      }
      return newMark;
    },

    /** Records not yet acknowledged by the service, oldest first (limit + 1 are read to know whether more follow). */
    pendingEvents: (clientId: string, limit: number): Promise<FeedRecord[]> =>
      sql<FeedRecord>`select d.id, d.sub, d.deleted_at, d.reason from deleted_accounts d
        where d.client_id = ${clientId}
          and d.id > coalesce((select acked_through from security_event_streams s where s.client_id = ${clientId}), 0)
          and not exists (select 1 from security_event_acks a where a.record_id = d.id)
        order by d.id limit ${limit}`
        .execute(db)
        .then((r) => r.rows.map((row) => ({ ...row, id: Number(row.id) }))),

    /** The id just before the service's first record deleted at or after `since`. */
    async idBefore(clientId: string, since: Date): Promise<number> {
      const first = await db
        .selectFrom('deleted_accounts')
        .select('id')
        .where('client_id', '=', clientId)
        .where('deleted_at', '>=', since)
        .orderBy('deleted_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (first) return first.id - 1;
      const last = await db
        .selectFrom('deleted_accounts')
        .select('id')
        .where('client_id', '=', clientId)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return last?.id ?? 0;
    },
  };
}
export type DeletionStore = ReturnType<typeof createDeletionStore>;

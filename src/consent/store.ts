// Every query on consents and the consent journal. `db` may be a transaction: the deletion
// routine calls in with its own.
import { sql, type Expression, type Kysely, type Selectable } from 'kysely';
import type { Account, Database } from '../db/schema.js';
import type { ConsentStatus, ConsentTable } from './tables.js';
import { precompile } from '../db/precompiled.js';
import { batchedReads } from '../db/batched.js';
import { entryHash, type ChainedEntry, type StoredEntry } from './journal.js';

export type Consent = Selectable<ConsentTable>;

const CONSENT_TIMESTAMPS = ['granted_at', 'updated_at', 'expires_at', 'last_used_at', 'ended_at'] as const;
/** A consents row returned as JSON by PostgreSQL (to_jsonb), with its timestamps as dates again. */
function consentFromJson(json: Record<string, unknown>): Consent {
  const consent = { ...json } as Record<string, unknown>;
  for (const column of CONSENT_TIMESTAMPS) if (typeof consent[column] === 'string') consent[column] = new Date(consent[column]);
  return consent as unknown as Consent;
}
type Q = Kysely<Database>;

export interface ConsentWrite {
  accountId: string;
  clientId: string;
  claims: string[];
  declined: string[];
  scopes: string[];
  requestVersion: number;
  purpose: string | null;
  method: string;
  grantedAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export interface JournalAppend {
  subject: string;
  accountId: string | null;
  event: string;
  clientId: string | null;
  detail: Record<string, unknown>;
  at: Date;
}

/**
 * The account, and its consent for the service if one is in force (active, not expired, as
 * findInForce), in one row; the consent as JSON in `consent_in_force`. Account and service are
 * columns of the query it is laterally joined to: the pairs asked (accountsWithConsent below) or
 * a token's own (oidc/adapter.ts).
 */
export function accountWithConsentQuery(db: Kysely<Database>, accountId: Expression<string>, clientId: Expression<string>) {
  return db
    .selectFrom('accounts as a')
    .leftJoin('consents as c', (join) =>
      join
        .onRef('c.account_id', '=', 'a.id')
        .on('c.client_id', '=', clientId)
        .on('c.status', '=', 'active')
        .on('c.expires_at', '>', sql<Date>`now()`),
    )
    .selectAll('a')
    .select(sql<Record<string, unknown> | null>`case when c.account_id is null then null else to_jsonb(c) end`.as('consent_in_force'))
    .where('a.id', '=', asUuid(accountId));
}
// accounts.id is a uuid; a text column compared to it must be cast, and a malformed one is no account.
const asUuid = (text: Expression<string>) =>
  sql<string>`case when ${text} ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then (${text})::uuid end`;
type AccountWithConsentRow = Account & { consent_in_force: Record<string, unknown> | null };

/** A row of accountWithConsentQuery, split. */
export function accountWithConsentFromRow(row: AccountWithConsentRow): { account: Account; consent: Consent | undefined } {
  const { consent_in_force: consent, ...account } = row;
  return { account, consent: consent ? consentFromJson(consent) : undefined };
}

/** accountWithConsentQuery with the consent's grant (`consent_grant`), which the authorization reuses next (consent service, grantFor). */
export const accountWithConsentAndGrantQuery = (db: Kysely<Database>, accountId: Expression<string>, clientId: Expression<string>) =>
  accountWithConsentQuery(db, accountId, clientId)
    .leftJoin('oidc_payloads as g', (join) =>
      join
        .onRef('g.id', '=', 'c.grant_id')
        .on('g.model', '=', 'Grant')
        .on((eb) => eb.or([eb('g.expires_at', 'is', null), eb('g.expires_at', '>', sql<Date>`now()`)])),
    )
    .select('g.payload as consent_grant');

// Asked for on every authorization and login: compiled once (db/precompiled.ts), for all the
// (account, service) pairs asked in one turn of the event loop (db/batched.ts). A malformed
// account id is no account (the uuid guard of accountWithConsentQuery), not a failed batch.
const accountsWithConsent = precompile((db, v: { accountIds: string[]; clientIds: string[] }) =>
  db
    .selectFrom(
      sql<{ account_id: string; client_id: string }>`unnest(${v.accountIds}::text[], ${v.clientIds}::text[])`.as<'k'>(
        sql`k(account_id, client_id)`,
      ),
    )
    .innerJoinLateral(
      accountWithConsentAndGrantQuery(db, sql.ref<string>('k.account_id'), sql.ref<string>('k.client_id')).as('found'),
      (join) => join.onTrue(),
    )
    .select(['k.account_id as asked_account_id', 'k.client_id as asked_client_id'])
    .selectAll('found'),
);
type AccountWithConsentAndGrant = AccountWithConsentRow & { consent_grant: unknown };
type Pair = { accountId: string; clientId: string };
// Unambiguous whatever the ids hold (a malformed account id may hold anything).
const pairKey = ({ accountId, clientId }: Pair) => JSON.stringify([accountId, clientId]);

const JOURNAL_COLUMNS = ['id', 'subject', 'seq', 'event', 'client_id', 'detail', 'at', 'prev_hash', 'hash'] as const;

export function createConsentStore(db: Q) {
  const lastTouched = new Map<string, number>();
  const readAccountWithConsent = batchedReads<AccountWithConsentAndGrant, Pair>(async (_group, pairs) => {
    const { rows } = await accountsWithConsent.execute(db, {
      accountIds: pairs.map((p) => p.accountId),
      clientIds: pairs.map((p) => p.clientId),
    });
    return new Map(
      rows.map(({ asked_account_id, asked_client_id, ...row }) => [
        pairKey({ accountId: asked_account_id, clientId: asked_client_id }),
        row as AccountWithConsentAndGrant,
      ]),
    );
  }, pairKey);
  return {
    find: (accountId: string, clientId: string, q: Q = db): Promise<Consent | undefined> =>
      q.selectFrom('consents').selectAll().where('account_id', '=', accountId).where('client_id', '=', clientId).executeTakeFirst(),

    /** The consent that lets data flow now: active, not expired (compared in SQL). */
    findInForce: (accountId: string, clientId: string, now?: Date): Promise<Consent | undefined> =>
      db
        .selectFrom('consents')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .where('status', '=', 'active')
        .where('expires_at', '>', now ?? sql<Date>`now()`)
        .executeTakeFirst(),

    /**
     * The account, and in the same query its consent in force for the service (as findInForce)
     * and that consent's grant (the provider's payload, if it has not expired): the provider
     * needs all three for every authorization.
     */
    async accountWithConsentInForce(
      accountId: string,
      clientId: string,
    ): Promise<{ account: Account; consent: Consent | undefined; grant: unknown } | undefined> {
      const row = await readAccountWithConsent('account with consent', { accountId, clientId });
      if (!row) return undefined;
      const { consent_grant: grant, ...rest } = row;
      return { ...accountWithConsentFromRow(rest), grant: grant ?? undefined };
    },

    /** Locks the row for the rest of the transaction. */
    findForUpdate: (q: Q, accountId: string, clientId: string): Promise<Consent | undefined> =>
      q
        .selectFrom('consents')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .forUpdate()
        .executeTakeFirst(),

    async upsert(q: Q, c: ConsentWrite): Promise<void> {
      const row = {
        account_id: c.accountId,
        client_id: c.clientId,
        status: 'active' as const,
        claims: c.claims,
        declined: c.declined,
        scopes: c.scopes,
        request_version: c.requestVersion,
        purpose: c.purpose,
        method: c.method,
        granted_at: c.grantedAt,
        updated_at: c.updatedAt,
        expires_at: c.expiresAt,
        ended_at: null,
        grant_id: null,
      };
      await q
        .insertInto('consents')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['account_id', 'client_id']).doUpdateSet({
            status: row.status,
            claims: row.claims,
            declined: row.declined,
            scopes: row.scopes,
            request_version: row.request_version,
            purpose: row.purpose,
            method: row.method,
            granted_at: row.granted_at,
            updated_at: row.updated_at,
            expires_at: row.expires_at,
            ended_at: null,
          }),
        )
        .execute();
    },

    async setClaims(q: Q, accountId: string, clientId: string, claims: string[], now: Date): Promise<void> {
      await q
        .updateTable('consents')
        .set({ claims, updated_at: now, grant_id: null })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .execute();
    },

    async end(q: Q, accountId: string, clientId: string, status: Exclude<ConsentStatus, 'active'>, now: Date): Promise<void> {
      await q
        .updateTable('consents')
        .set({ status, ended_at: now, updated_at: now, grant_id: null })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .execute();
    },

    async setGrant(accountId: string, clientId: string, grantId: string, scopes: string[]): Promise<void> {
      await db
        .updateTable('consents')
        .set({ grant_id: grantId, scopes })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .execute();
    },

    /** Last use by the service, written at most every five minutes (by this process: not even a round trip). */
    async touchUsed(accountId: string, clientId: string, now: Date): Promise<void> {
      const key = `${accountId}|${clientId}`;
      const last = lastTouched.get(key);
      if (last !== undefined && now.getTime() - last < 300_000) return;
      if (lastTouched.size >= 100_000) lastTouched.clear();
      lastTouched.set(key, now.getTime());
      await db
        .updateTable('consents')
        .set({ last_used_at: now })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 300_000))]))
        .execute();
    },

    listExpired: (now: Date, limit: number) =>
      db
        .selectFrom('consents')
        .select(['account_id', 'client_id'])
        .where('status', '=', 'active')
        .where('expires_at', '<=', now)
        .limit(limit)
        .execute(),

    listForAccount: (accountId: string, q: Q = db) =>
      q
        .selectFrom('consents')
        .innerJoin('clients', 'clients.client_id', 'consents.client_id')
        .select([
          'consents.client_id',
          'consents.status',
          'consents.claims',
          'consents.declined',
          'consents.scopes',
          'consents.request_version',
          'consents.purpose',
          'consents.method',
          'consents.granted_at',
          'consents.updated_at',
          'consents.expires_at',
          'consents.last_used_at',
          'consents.ended_at',
          'clients.name',
          'clients.organisation',
          'clients.claims_optional',
          'clients.claims_required',
        ])
        .where('consents.account_id', '=', accountId)
        .orderBy('consents.status')
        .orderBy('clients.name')
        .execute(),

    async deleteForAccount(q: Q, accountId: string): Promise<void> {
      await q.deleteFrom('consents').where('account_id', '=', accountId).execute();
    },

    /**
     * Appends to the subject's chain. Serialised per subject by a transaction-scoped advisory
     * lock, so concurrent appends never fork a chain (the unique (subject, seq) is the backstop).
     */
    async append(q: Q, e: JournalAppend): Promise<StoredEntry> {
      await sql`select pg_advisory_xact_lock(hashtextextended(${`consent-journal:${e.subject}`}, 0))`.execute(q);
      const last = await q
        .selectFrom('consent_journal')
        .select(['seq', 'hash'])
        .where('subject', '=', e.subject)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const entry = {
        subject: e.subject,
        seq: (last?.seq ?? 0) + 1,
        event: e.event,
        client_id: e.clientId,
        detail: e.detail,
        at: e.at,
        prev_hash: last?.hash ?? null,
      };
      const hash = entryHash(entry);
      const { id } = await q
        .insertInto('consent_journal')
        .values({
          subject: entry.subject,
          account_id: e.accountId,
          seq: entry.seq,
          event: entry.event,
          client_id: entry.client_id,
          detail: JSON.stringify(entry.detail),
          at: entry.at,
          prev_hash: entry.prev_hash,
          hash,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { ...entry, id, hash };
    },

    journalOf: (subject: string, q: Q = db) =>
      q
        .selectFrom('consent_journal')
        .select([...JOURNAL_COLUMNS])
        .where('subject', '=', subject)
        .orderBy('seq')
        .execute(),

    /** Keyset pages over every chain, ordered by (subject, seq). */
    journalPage: (after: { subject: string; seq: number } | null, limit: number) => {
      let query = db.selectFrom('consent_journal').select([...JOURNAL_COLUMNS]);
      if (after)
        query = query.where((eb) =>
          eb.or([eb('subject', '>', after.subject), eb.and([eb('subject', '=', after.subject), eb('seq', '>', after.seq)])]),
        );
      return query.orderBy('subject').orderBy('seq').limit(limit).execute();
    },

    /** Account deleted: entries keep only the pseudonym, and are removed after the proof period. */
    async pseudonymise(q: Q, subject: string, purgeAfter: Date): Promise<number> {
      const result = await q
        .updateTable('consent_journal')
        .set({ account_id: null, purge_after: purgeAfter })
        .where('subject', '=', subject)
        .where('purge_after', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    // ── Account deletion, a batch of accounts at a time (inside the deleting transaction) ──

    /** The consents of the accounts, locked: no withdrawal or expiry can append to their chains meanwhile. */
    consentsOfAccounts: (q: Q, accountIds: string[]) =>
      q
        .selectFrom('consents')
        .select(['account_id', 'client_id', 'status'])
        .where(sql<boolean>`account_id = any(${accountIds}::uuid[])`)
        .orderBy('account_id')
        .orderBy('client_id')
        .forUpdate()
        .execute(),

    /** Subjects among `subjects` that have a chain. */
    async subjectsWithChain(q: Q, subjects: string[]): Promise<string[]> {
      const { rows } = await sql<{
        subject: string;
      }>`select distinct subject from consent_journal where subject = any(${subjects}::text[])`.execute(q);
      return rows.map((r) => r.subject);
    },

    /** The same transaction-scoped locks as append() takes, for many subjects at once (sorted: no deadlock between batches). */
    async lockChains(q: Q, subjects: string[]): Promise<void> {
      if (!subjects.length) return;
      await sql`select pg_advisory_xact_lock(hashtextextended('consent-journal:' || s, 0))
        from unnest(${[...subjects].sort()}::text[]) as t(s) order by s`.execute(q);
    },

    /** The last entry (head) of each chain, read after lockChains. */
    chainHeads: (q: Q, subjects: string[]) =>
      sql<{ subject: string; seq: number; hash: string }>`select distinct on (subject) subject, seq, hash from consent_journal
        where subject = any(${subjects}::text[]) order by subject, seq desc`
        .execute(q)
        .then((r) => r.rows),

    /** Appends already-chained entries (seq, prev_hash and hash computed by the caller) in one statement. */
    async appendChained(q: Q, entries: (ChainedEntry & { hash: string; accountId: string | null })[]): Promise<void> {
      if (!entries.length) return;
      await q
        .insertInto('consent_journal')
        .values(
          entries.map((e) => ({
            subject: e.subject,
            account_id: e.accountId,
            seq: e.seq,
            event: e.event,
            client_id: e.client_id,
            detail: JSON.stringify(e.detail),
            at: e.at,
            prev_hash: e.prev_hash,
            hash: e.hash,
          })),
        )
        .execute();
    },

    async pseudonymiseMany(q: Q, subjects: string[], purgeAfter: Date): Promise<number> {
      const result = await q
        .updateTable('consent_journal')
        .set({ account_id: null, purge_after: purgeAfter })
        .where(sql<boolean>`subject = any(${subjects}::text[])`)
        .where('purge_after', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async deleteForAccounts(q: Q, accountIds: string[]): Promise<void> {
      await q
        .deleteFrom('consents')
        .where(sql<boolean>`account_id = any(${accountIds}::uuid[])`)
        .execute();
    },

    async purge(now: Date): Promise<number> {
      const result = await db.deleteFrom('consent_journal').where('purge_after', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
export type ConsentStore = ReturnType<typeof createConsentStore>;

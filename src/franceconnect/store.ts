// Every query of the FranceConnect domain: links, certified fields, round trips, FC sessions.
// Transactions are opened by the service through `transaction`; each query takes the executor.
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import type { Account, Database } from '../db/schema.js';
import type { FranceConnectOutcome, FranceConnectPurpose } from './tables.js';
import { PIVOT_FIELDS, type FcIdentity } from './normalise.js';

type Executor = Kysely<Database> | Transaction<Database>;

export function createFranceConnectStore(db: Db) {
  return {
    transaction: <T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> => db.transaction().execute(fn),

    /* ---------------------------------------------------------------- round trips */
    async insertAttempt(values: {
      stateHash: string; nonce: string; browserHash: string; purpose: FranceConnectPurpose;
      interactionUid?: string | null; accountId?: string | null; returnTo?: string | null; expiresAt: Date; now: Date;
    }): Promise<void> {
      await db.insertInto('franceconnect_attempts').values({
        id: randomUUID(), state_hash: values.stateHash, nonce: values.nonce, browser_hash: values.browserHash,
        purpose: values.purpose, interaction_uid: values.interactionUid ?? null, account_id: values.accountId ?? null,
        return_to: values.returnTo ?? null, created_at: values.now, expires_at: values.expiresAt,
      }).execute();
    },

    /** Single use, atomic: only the browser that started it, once, before expiry. */
    consumeState: (stateHash: string, browserHash: string, purposes: FranceConnectPurpose[], now: Date) =>
      db.updateTable('franceconnect_attempts').set({ state_used_at: now })
        .where('state_hash', '=', stateHash).where('browser_hash', '=', browserHash)
        .where('purpose', 'in', purposes).where('state_used_at', 'is', null).where('expires_at', '>', now)
        .returningAll().executeTakeFirst(),

    async recordOutcome(id: string, values: { outcome: FranceConnectOutcome; sub: string; identity: FcIdentity; idTokenEncrypted: string; accountId: string | null }): Promise<void> {
      await db.updateTable('franceconnect_attempts').set({
        outcome: values.outcome, sub: values.sub, identity: JSON.stringify(values.identity),
        id_token_encrypted: values.idTokenEncrypted, account_id: values.accountId,
      }).where('id', '=', id).execute();
    },

    /** The answered, unfinished round trip of this browser for this interaction. */
    pendingAttempt: (browserHash: string, interactionUid: string, now: Date) =>
      db.selectFrom('franceconnect_attempts').selectAll()
        .where('browser_hash', '=', browserHash).where('interaction_uid', '=', interactionUid)
        .where('purpose', '=', 'login').where('state_used_at', 'is not', null).where('outcome', 'is not', null)
        .where('finished_at', 'is', null).where('expires_at', '>', now)
        .orderBy('created_at', 'desc').limit(1).executeTakeFirst(),

    /** Marks it finished and forgets the identity it carried; false if it already was. */
    async finishAttempt(trx: Executor, id: string, now: Date): Promise<boolean> {
      const row = await trx.updateTable('franceconnect_attempts').set({ finished_at: now, identity: null, id_token_encrypted: null })
        .where('id', '=', id).where('finished_at', 'is', null).returning('id').executeTakeFirst();
      return row !== undefined;
    },

    /* ---------------------------------------------------------------- links */
    findLinkBySub: (sub: string) => db.selectFrom('franceconnect_links').selectAll().where('sub', '=', sub).executeTakeFirst(),
    findLinkByAccount: (accountId: string) => db.selectFrom('franceconnect_links').selectAll().where('account_id', '=', accountId).executeTakeFirst(),

    /** Links the account to this sub, replacing an older sub of the same account (re-linking). */
    async upsertLink(trx: Executor, accountId: string, sub: string, now: Date): Promise<void> {
      await trx.insertInto('franceconnect_links').values({ account_id: accountId, sub, linked_at: now, last_login_at: now })
        .onConflict((oc) => oc.column('account_id').doUpdateSet((eb) => ({
          sub: eb.ref('excluded.sub'),
          last_login_at: eb.ref('excluded.last_login_at'),
        }))).execute();
    },

    async deleteLink(trx: Executor, accountId: string): Promise<void> {
      await trx.deleteFrom('franceconnect_links').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('franceconnect_certified_fields').where('account_id', '=', accountId).execute();
    },

    /** Accounts not linked to FranceConnect whose birth date and country could match. */
    matchCandidates: (birthdates: string[], birthcountry: string): Promise<Account[]> =>
      db.selectFrom('accounts').selectAll('accounts')
        .where('accounts.birthdate', 'in', birthdates).where('accounts.birthcountry', '=', birthcountry)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('franceconnect_links').select('franceconnect_links.account_id').whereRef('franceconnect_links.account_id', '=', 'accounts.id'))))
        .limit(20).execute(),

    /* ---------------------------------------------------------------- certification */
    /** The six fields as certified now; the account's identity columns take the same values. */
    async certify(trx: Executor, accountId: string, identity: FcIdentity, now: Date): Promise<void> {
      for (const field of PIVOT_FIELDS) {
        await trx.insertInto('franceconnect_certified_fields')
          .values({ account_id: accountId, field, value: identity.pivot[field], source: 'FranceConnect', acr: identity.acr, certified_at: now })
          .onConflict((oc) => oc.columns(['account_id', 'field']).doUpdateSet({ value: identity.pivot[field], source: 'FranceConnect', acr: identity.acr, certified_at: now }))
          .execute();
      }
      await trx.updateTable('accounts').set({ ...identity.pivot, updated_at: now }).where('id', '=', accountId).execute();
    },

    certifiedFields: (accountId: string) =>
      db.selectFrom('franceconnect_certified_fields').selectAll().where('account_id', '=', accountId).orderBy('field').execute(),

    async createAccount(trx: Executor, identity: FcIdentity, email: string | null, now: Date): Promise<string> {
      const id = randomUUID();
      await trx.insertInto('accounts').values({
        id, email, email_verified_at: email ? now : null, password_hash: null, password_changed_at: null,
        ...identity.pivot, preferred_username: identity.preferredUsername ?? null,
        created_at: now, updated_at: now, last_activity_at: now,
      }).execute();
      return id;
    },

    async recordEvent(trx: Executor, accountId: string, type: string, detail: Record<string, unknown> = {}): Promise<void> {
      await trx.insertInto('account_events').values({ account_id: accountId, type, detail: JSON.stringify(detail) }).execute();
    },

    /* ---------------------------------------------------------------- FC sessions (logout) */
    async insertSession(trx: Executor, values: { accountId: string; browserHash: string; idTokenEncrypted: string; expiresAt: Date; now: Date }): Promise<void> {
      // One FranceConnect SSO session per browser: a new login replaces the older ones.
      await trx.deleteFrom('franceconnect_sessions').where('browser_hash', '=', values.browserHash).execute();
      await trx.insertInto('franceconnect_sessions').values({
        account_id: values.accountId, browser_hash: values.browserHash, id_token_encrypted: values.idTokenEncrypted,
        created_at: values.now, expires_at: values.expiresAt,
      }).execute();
    },

    /** Takes (and deletes) the FC session of this browser and account, atomically. */
    takeSession: (browserHash: string, accountId: string, now: Date) =>
      db.deleteFrom('franceconnect_sessions')
        .where('browser_hash', '=', browserHash).where('account_id', '=', accountId).where('expires_at', '>', now)
        .returning(['id_token_encrypted']).executeTakeFirst(),

    async deleteExpired(now: Date): Promise<number> {
      const a = await db.deleteFrom('franceconnect_attempts').where('expires_at', '<', now).executeTakeFirst();
      const s = await db.deleteFrom('franceconnect_sessions').where('expires_at', '<', now).executeTakeFirst();
      return Number(a.numDeletedRows) + Number(s.numDeletedRows);
    },
  };
}
export type FranceConnectStore = ReturnType<typeof createFranceConnectStore>;

// Every query of the FranceConnect domain: links, certified fields, round trips, FC sessions.
// Transactions are opened by the service through `transaction`; each query takes the executor.
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import type { Account, Database } from '../db/schema.js';
import type { FranceConnectOutcome, FranceConnectPurpose } from './tables.js';
import { PIVOT_FIELDS, type DeclaredIdentity, type FcIdentity } from './normalise.js';

export type Executor = Kysely<Database> | Transaction<Database>;

export function createFranceConnectStore(db: Db) {
  return {
    transaction: <T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> => db.transaction().execute(fn),

    /* ---------------------------------------------------------------- round trips */
    async insertAttempt(values: {
      stateHash: string;
      nonce: string;
      browserHash: string;
      purpose: FranceConnectPurpose;
      interactionUid?: string | null;
      accountId?: string | null;
      returnTo?: string | null;
      expiresAt: Date;
      now: Date;
    }): Promise<void> {
      await db
        .insertInto('franceconnect_attempts')
        .values({
          id: randomUUID(),
          state_hash: values.stateHash,
          nonce: values.nonce,
          browser_hash: values.browserHash,
          purpose: values.purpose,
          interaction_uid: values.interactionUid ?? null,
          account_id: values.accountId ?? null,
          return_to: values.returnTo ?? null,
          created_at: values.now,
          expires_at: values.expiresAt,
        })
        .execute();
    },

    /** Single use, atomic: only the browser that started it, once, before expiry. */
    consumeState: (stateHash: string, browserHash: string, purposes: FranceConnectPurpose[], now: Date) =>
      db
        .updateTable('franceconnect_attempts')
        .set({ state_used_at: now })
        .where('state_hash', '=', stateHash)
        .where('browser_hash', '=', browserHash)
        .where('purpose', 'in', purposes)
        .where('state_used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst(),

    async recordOutcome(
      id: string,
      values: {
        outcome: FranceConnectOutcome;
        sub: string;
        identity: FcIdentity;
        idTokenEncrypted: string;
        accountId: string | null;
        declaredBefore?: DeclaredIdentity;
      },
    ): Promise<void> {
      await db
        .updateTable('franceconnect_attempts')
        .set({
          outcome: values.outcome,
          sub: values.sub,
          identity: JSON.stringify(values.identity),
          id_token_encrypted: values.idTokenEncrypted,
          account_id: values.accountId,
          declared_before: values.declaredBefore ? JSON.stringify(values.declaredBefore) : null,
        })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Locks an unfinished automatically linked round trip and turns it into a choice: it can no
     * longer log into that account. Returns what it held (account, declared values), or undefined.
     */
    async takeAutoLinkedAttempt(
      trx: Executor,
      id: string,
    ): Promise<{ accountId: string; sub: string; declaredBefore: DeclaredIdentity | null } | undefined> {
      const row = await trx
        .selectFrom('franceconnect_attempts')
        .select(['account_id', 'sub', 'declared_before'])
        .where('id', '=', id)
        .where('outcome', '=', 'auto_linked')
        .where('finished_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (!row?.account_id || !row.sub) return undefined;
      await trx
        .updateTable('franceconnect_attempts')
        .set({ outcome: 'choose', account_id: null, declared_before: null })
        .where('id', '=', id)
        .execute();
      return { accountId: row.account_id, sub: row.sub, declaredBefore: row.declared_before as DeclaredIdentity | null };
    },

    /** The answered, unfinished round trip of this browser for this interaction. */
    pendingAttempt: (browserHash: string, interactionUid: string, now: Date) =>
      db
        .selectFrom('franceconnect_attempts')
        .selectAll()
        .where('browser_hash', '=', browserHash)
        .where('interaction_uid', '=', interactionUid)
        .where('purpose', '=', 'login')
        .where('state_used_at', 'is not', null)
        .where('outcome', 'is not', null)
        .where('finished_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst(),

    /**
     * Marks it finished and forgets the identity it carried; false if it already was, or if its
     * outcome is no longer `outcome` (« Ce n’est pas mon compte » turned it into a choice meanwhile).
     */
    async finishAttempt(trx: Executor, id: string, now: Date, outcome?: FranceConnectOutcome): Promise<boolean> {
      const row = await trx
        .updateTable('franceconnect_attempts')
        .set({ finished_at: now, identity: null, id_token_encrypted: null, declared_before: null })
        .where('id', '=', id)
        .where('finished_at', 'is', null)
        .$if(outcome !== undefined, (qb) => qb.where('outcome', '=', outcome!))
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },

    /* ---------------------------------------------------------------- links */
    findLinkBySub: (sub: string, q: Executor = db) =>
      q.selectFrom('franceconnect_links').selectAll().where('sub', '=', sub).executeTakeFirst(),
    findLinkByAccount: (accountId: string, q: Executor = db) =>
      q.selectFrom('franceconnect_links').selectAll().where('account_id', '=', accountId).executeTakeFirst(),

    /** Links the account to this sub, replacing an older sub of the same account (re-linking). */
    async upsertLink(trx: Executor, accountId: string, sub: string, now: Date): Promise<void> {
      await trx
        .insertInto('franceconnect_links')
        .values({ account_id: accountId, sub, linked_at: now, last_login_at: now })
        .onConflict((oc) =>
          oc.column('account_id').doUpdateSet((eb) => ({
            sub: eb.ref('excluded.sub'),
            last_login_at: eb.ref('excluded.last_login_at'),
          })),
        )
        .execute();
    },

    async deleteLink(trx: Executor, accountId: string): Promise<void> {
      await trx.deleteFrom('franceconnect_links').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('franceconnect_certified_fields').where('account_id', '=', accountId).execute();
    },

    /**
     * Accounts whose birth date and country could match, with the sub they are linked to (if
     * any), leaving out those whose owner said « Ce n’est pas mon compte » to this identity.
     */
    matchCandidates: (birthdates: string[], birthcountry: string, subHash: string): Promise<(Account & { linked_sub: string | null })[]> =>
      db
        .selectFrom('accounts')
        .leftJoin('franceconnect_links', 'franceconnect_links.account_id', 'accounts.id')
        .selectAll('accounts')
        .select('franceconnect_links.sub as linked_sub')
        .where('accounts.birthdate', 'in', birthdates)
        .where('accounts.birthcountry', '=', birthcountry)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('franceconnect_link_refusals')
                .select('franceconnect_link_refusals.account_id')
                .whereRef('franceconnect_link_refusals.account_id', '=', 'accounts.id')
                .where('franceconnect_link_refusals.sub_hash', '=', subHash),
            ),
          ),
        )
        .limit(20)
        .execute(),

    /** The six identity values an account holds now (declared, or certified earlier). */
    declaredIdentity: (trx: Executor, accountId: string): Promise<DeclaredIdentity | undefined> =>
      trx
        .selectFrom('accounts')
        .select([...PIVOT_FIELDS])
        .where('id', '=', accountId)
        .forUpdate()
        .executeTakeFirst(),

    async restoreDeclared(trx: Executor, accountId: string, declared: DeclaredIdentity, now: Date): Promise<void> {
      const { given_name, family_name, birthdate, gender, birthplace, birthcountry } = declared;
      await trx
        .updateTable('accounts')
        .set({ given_name, family_name, birthdate, gender, birthplace, birthcountry, updated_at: now })
        .where('id', '=', accountId)
        .execute();
    },

    async insertRefusal(trx: Executor, accountId: string, subHash: string, now: Date): Promise<void> {
      await trx
        .insertInto('franceconnect_link_refusals')
        .values({ account_id: accountId, sub_hash: subHash, refused_at: now })
        .onConflict((oc) => oc.columns(['account_id', 'sub_hash']).doNothing())
        .execute();
    },

    /* ---------------------------------------------------------------- sub changed: help desk */
    /**
     * The open request for this account (or for no account) and new sub, else a new one with
     * `reference`; journaled on the account when there is one.
     */
    async openRecovery(values: {
      reference: string;
      accountId: string | null;
      newSub: string;
      oldSubHash: string | null;
      newSubHash: string;
      identity: FcIdentity;
      now: Date;
      expiresAt: Date;
    }): Promise<{ reference: string; created: boolean }> {
      return db.transaction().execute(async (trx) => {
        const open = await trx
          .selectFrom('franceconnect_recovery_requests')
          .select('reference')
          .where('new_sub', '=', values.newSub)
          .where((eb) => (values.accountId ? eb('account_id', '=', values.accountId) : eb('account_id', 'is', null)))
          .where('resolved_at', 'is', null)
          .where('expires_at', '>', values.now)
          .forUpdate()
          .executeTakeFirst();
        if (open) return { reference: open.reference, created: false };
        await trx
          .insertInto('franceconnect_recovery_requests')
          .values({
            reference: values.reference,
            account_id: values.accountId,
            new_sub: values.newSub,
            identity: JSON.stringify(values.identity),
            old_sub_hash: values.oldSubHash,
            new_sub_hash: values.newSubHash,
            created_at: values.now,
            expires_at: values.expiresAt,
          })
          .execute();
        if (!values.accountId) return { reference: values.reference, created: true };
        await trx
          .insertInto('account_events')
          .values({
            account_id: values.accountId,
            type: 'franceconnect_sub_change_detected',
            detail: JSON.stringify({ reference: values.reference, oldSubHash: values.oldSubHash, newSubHash: values.newSubHash }),
          })
          .execute();
        return { reference: values.reference, created: true };
      });
    },

    findOpenRecovery: (accountId: string | null, newSub: string, now: Date) =>
      db
        .selectFrom('franceconnect_recovery_requests')
        .select('reference')
        .where((eb) => (accountId ? eb('account_id', '=', accountId) : eb('account_id', 'is', null)))
        .where('new_sub', '=', newSub)
        .where('resolved_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst(),

    /** An open request with what the help desk needs to find the resident (not the sub). */
    findRecovery: (reference: string, now: Date) =>
      db
        .selectFrom('franceconnect_recovery_requests')
        .leftJoin('accounts', 'accounts.id', 'franceconnect_recovery_requests.account_id')
        .select([
          'franceconnect_recovery_requests.reference',
          'franceconnect_recovery_requests.account_id',
          'accounts.email',
          'franceconnect_recovery_requests.identity',
          'franceconnect_recovery_requests.created_at',
          'franceconnect_recovery_requests.expires_at',
        ])
        .where('franceconnect_recovery_requests.reference', '=', reference)
        .where('franceconnect_recovery_requests.resolved_at', 'is', null)
        .where('franceconnect_recovery_requests.expires_at', '>', now)
        .executeTakeFirst(),

    /** Locks an open request (help desk resolution). */
    takeRecovery: (trx: Executor, reference: string, now: Date) =>
      trx
        .selectFrom('franceconnect_recovery_requests')
        .selectAll()
        .where('reference', '=', reference)
        .where('resolved_at', 'is', null)
        .where('expires_at', '>', now)
        .forUpdate()
        .executeTakeFirst(),

    /** Closes it, forgetting the identity it carried. */
    async resolveRecovery(trx: Executor, reference: string, accountId: string, now: Date): Promise<void> {
      await trx
        .updateTable('franceconnect_recovery_requests')
        .set({ resolved_at: now, account_id: accountId, identity: null })
        .where('reference', '=', reference)
        .execute();
    },

    /** The account the help desk names: its FranceConnect link and whether it has a password. */
    accountForRecovery: (trx: Executor, accountId: string) =>
      trx
        .selectFrom('accounts')
        .leftJoin('franceconnect_links', 'franceconnect_links.account_id', 'accounts.id')
        .select(['accounts.id', 'accounts.password_hash', 'franceconnect_links.sub as linked_sub'])
        .where('accounts.id', '=', accountId)
        .forUpdate(['accounts'])
        .executeTakeFirst(),

    /* ---------------------------------------------------------------- certification */
    /** The six fields as certified now; the account's identity columns take the same values. */
    async certify(trx: Executor, accountId: string, identity: FcIdentity, now: Date): Promise<void> {
      for (const field of PIVOT_FIELDS) {
        await trx
          .insertInto('franceconnect_certified_fields')
          .values({
            account_id: accountId,
            field,
            value: identity.pivot[field],
            source: 'FranceConnect',
            acr: identity.acr,
            certified_at: now,
          })
          .onConflict((oc) =>
            oc
              .columns(['account_id', 'field'])
              .doUpdateSet({ value: identity.pivot[field], source: 'FranceConnect', acr: identity.acr, certified_at: now }),
          )
          .execute();
      }
      await trx
        .updateTable('accounts')
        .set({ ...identity.pivot, updated_at: now })
        .where('id', '=', accountId)
        .execute();
    },

    certifiedFields: (accountId: string) =>
      db.selectFrom('franceconnect_certified_fields').selectAll().where('account_id', '=', accountId).orderBy('field').execute(),

    async createAccount(trx: Executor, identity: FcIdentity, email: string | null, now: Date): Promise<string> {
      const id = randomUUID();
      await trx
        .insertInto('accounts')
        .values({
          id,
          email,
          email_verified_at: email ? now : null,
          password_hash: null,
          password_changed_at: null,
          ...identity.pivot,
          preferred_username: identity.preferredUsername ?? null,
          created_at: now,
          updated_at: now,
          last_activity_at: now,
        })
        .execute();
      return id;
    },

    async recordEvent(trx: Executor, accountId: string, type: string, detail: Record<string, unknown> = {}): Promise<void> {
      await trx
        .insertInto('account_events')
        .values({ account_id: accountId, type, detail: JSON.stringify(detail) })
        .execute();
    },

    /* ---------------------------------------------------------------- FC sessions (logout) */
    async insertSession(
      trx: Executor,
      values: { accountId: string; browserHash: string; idTokenEncrypted: string; expiresAt: Date; now: Date },
    ): Promise<void> {
      // One FranceConnect SSO session per browser: a new login replaces the older ones.
      await trx.deleteFrom('franceconnect_sessions').where('browser_hash', '=', values.browserHash).execute();
      await trx
        .insertInto('franceconnect_sessions')
        .values({
          account_id: values.accountId,
          browser_hash: values.browserHash,
          id_token_encrypted: values.idTokenEncrypted,
          created_at: values.now,
          expires_at: values.expiresAt,
        })
        .execute();
    },

    /** Takes (and deletes) the FC session of this browser and account, atomically. */
    takeSession: (browserHash: string, accountId: string, now: Date) =>
      db
        .deleteFrom('franceconnect_sessions')
        .where('browser_hash', '=', browserHash)
        .where('account_id', '=', accountId)
        .where('expires_at', '>', now)
        .returning(['id_token_encrypted'])
        .executeTakeFirst(),

    async deleteExpired(now: Date): Promise<number> {
      const a = await db.deleteFrom('franceconnect_attempts').where('expires_at', '<', now).executeTakeFirst();
      const s = await db.deleteFrom('franceconnect_sessions').where('expires_at', '<', now).executeTakeFirst();
      const r = await db.deleteFrom('franceconnect_recovery_requests').where('expires_at', '<', now).executeTakeFirst();
      return Number(a.numDeletedRows) + Number(s.numDeletedRows) + Number(r.numDeletedRows);
    },
  };
}
export type FranceConnectStore = ReturnType<typeof createFranceConnectStore>;

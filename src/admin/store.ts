// Queries of the back-office: staff roles, second factors, staff sessions, resident search.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { StaffRole } from './tables.js';

export interface ResidentQuery {
  text: string;
  birthdate?: string;
}

export function createAdminStore(db: Db) {
  return {
    async rolesOf(accountId: string): Promise<StaffRole[]> {
      const rows = await db.selectFrom('staff_roles').select('role').where('account_id', '=', accountId).orderBy('role').execute();
      return rows.map((r) => r.role);
    },
    async grant(accountId: string, role: StaffRole, by: string | null): Promise<boolean> {
      const res = await db
        .insertInto('staff_roles')
        .values({ account_id: accountId, role, granted_by: by })
        .onConflict((oc) => oc.columns(['account_id', 'role']).doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async revoke(accountId: string, role: StaffRole): Promise<boolean> {
      const res = await db.deleteFrom('staff_roles').where('account_id', '=', accountId).where('role', '=', role).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    listStaff() {
      return db
        .selectFrom('staff_roles')
        .innerJoin('accounts', 'accounts.id', 'staff_roles.account_id')
        .select(['staff_roles.account_id', 'accounts.email', 'staff_roles.role', 'staff_roles.granted_at', 'staff_roles.granted_by'])
        .orderBy('accounts.email')
        .orderBy('staff_roles.role')
        .execute();
    },

    secondFactor: (accountId: string) =>
      db.selectFrom('staff_second_factors').selectAll().where('account_id', '=', accountId).executeTakeFirst(),
    /** A new, unconfirmed TOTP secret (replaces an unconfirmed one only). */
    async startEnrolment(accountId: string, secretEncrypted: string): Promise<void> {
      await db
        .insertInto('staff_second_factors')
        .values({ account_id: accountId, totp_secret_encrypted: secretEncrypted, recovery_codes: '[]' })
        .onConflict((oc) =>
          oc
            .column('account_id')
            .doUpdateSet({ totp_secret_encrypted: secretEncrypted })
            .where('staff_second_factors.confirmed_at', 'is', null),
        )
        .execute();
    },
    async confirmEnrolment(accountId: string, recoveryHashes: string[], step: number, now: Date): Promise<boolean> {
      const res = await db
        .updateTable('staff_second_factors')
        .set({ confirmed_at: now, recovery_codes: JSON.stringify(recoveryHashes), last_step: step })
        .where('account_id', '=', accountId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    /** Accepts a TOTP time step once: two parallel submissions of one code, only one wins. */
    async useStep(accountId: string, step: number): Promise<boolean> {
      const res = await db
        .updateTable('staff_second_factors')
        .set({ last_step: step })
        .where('account_id', '=', accountId)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    /** Consumes a recovery code (by its hash) atomically. */
    async useRecoveryCode(accountId: string, hash: string): Promise<boolean> {
      const res = await db
        .updateTable('staff_second_factors')
        .set({ recovery_codes: sql`recovery_codes - ${hash}::text` })
        .where('account_id', '=', accountId)
        .where(sql<boolean>`recovery_codes ? ${hash}::text`)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async resetSecondFactor(accountId: string): Promise<void> {
      await db.deleteFrom('staff_second_factors').where('account_id', '=', accountId).execute();
    },

    async createSession(idHash: string, accountId: string, now: Date): Promise<void> {
      await db
        .insertInto('staff_sessions')
        .values({ id_hash: idHash, account_id: accountId, created_at: now, last_seen_at: now, second_factor_at: null })
        .execute();
    },
    findSession: (idHash: string) => db.selectFrom('staff_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst(),
    async touchSession(idHash: string, now: Date, secondFactor = false): Promise<void> {
      await db
        .updateTable('staff_sessions')
        .set(secondFactor ? { last_seen_at: now, second_factor_at: now } : { last_seen_at: now })
        .where('id_hash', '=', idHash)
        .execute();
    },
    async deleteSession(idHash: string): Promise<void> {
      await db.deleteFrom('staff_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteSessionsOf(accountId: string): Promise<void> {
      await db.deleteFrom('staff_sessions').where('account_id', '=', accountId).execute();
    },
    async deleteStaleSessions(idleBefore: Date, createdBefore: Date): Promise<number> {
      const res = await db
        .deleteFrom('staff_sessions')
        .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)]))
        .executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    /**
     * Residents matching a prefix of their email, family or given name, or account id (accents
     * and case ignored), or exactly a birth date. Never without a query (the caller checks).
     */
    searchResidents(q: ResidentQuery, limit: number, offset: number) {
      const folded = `${q.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return db
        .selectFrom('accounts')
        .select(['id', 'email', 'given_name', 'family_name', 'birthdate', 'email_verified_at', 'created_at'])
        .where((eb) => {
          const ors = [
            eb(sql`lower(email)`, 'like', folded),
            eb(sql`glc_fold(family_name)`, 'like', sql`glc_fold(${folded})`),
            eb(sql`glc_fold(given_name)`, 'like', sql`glc_fold(${folded})`),
            eb(sql`id::text`, 'like', folded),
          ];
          if (q.birthdate) ors.push(eb('birthdate', '=', q.birthdate));
          return eb.or(ors);
        })
        .orderBy('family_name')
        .orderBy('email')
        .orderBy('id')
        .limit(limit)
        .offset(offset)
        .execute();
    },

    /** The FranceConnect recovery requests waiting for the help desk (src/franceconnect/recovery.ts). */
    openRecoveries: (now: Date) =>
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
        .where('franceconnect_recovery_requests.resolved_at', 'is', null)
        .where('franceconnect_recovery_requests.expires_at', '>', now)
        .orderBy('franceconnect_recovery_requests.created_at')
        .limit(200)
        .execute(),

    inactivityWarnings: (accountId: string) =>
      db
        .selectFrom('inactivity_warnings')
        .select(['days_before', 'sent_at'])
        .where('account_id', '=', accountId)
        .orderBy('sent_at', 'desc')
        .execute(),

    linkedToFranceConnect: async (accountId: string) =>
      Boolean(await db.selectFrom('franceconnect_links').select('account_id').where('account_id', '=', accountId).executeTakeFirst()),
    certifiedFields: (accountId: string) =>
      db.selectFrom('franceconnect_certified_fields').select(['field']).where('account_id', '=', accountId).execute(),
    connectedServices: (accountId: string) =>
      db
        .selectFrom('account_subjects')
        .innerJoin('clients', 'clients.client_id', 'account_subjects.client_id')
        .select('clients.name')
        .where('account_subjects.account_id', '=', accountId)
        .orderBy('clients.name')
        .execute(),
  };
}
export type AdminStore = ReturnType<typeof createAdminStore>;

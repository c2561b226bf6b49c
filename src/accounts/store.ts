// Every query on accounts, email tokens and the account activity journal.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Account, AccountUpdate, EmailTokenTable } from '../db/schema.js';

export function createAccountStore(db: Db) {
  const lastActivityRecorded = new Map<string, number>();
  return {
    findById: (id: string): Promise<Account | undefined> => db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst(),

    findByEmail: (email: string): Promise<Account | undefined> =>
      db
        .selectFrom('accounts')
        .selectAll()
        .where(sql`lower(email)`, '=', email.toLowerCase())
        .executeTakeFirst(),

    async create(
      values: { email: string | null; passwordHash: string | null; emailVerifiedAt?: Date | null } & AccountUpdate,
      now = new Date(),
    ): Promise<Account> {
      const { email, passwordHash, emailVerifiedAt, ...rest } = values;
      return db
        .insertInto('accounts')
        .values({
          ...rest,
          id: randomUUID(),
          email,
          password_hash: passwordHash,
          password_changed_at: passwordHash ? now : null,
          email_verified_at: emailVerifiedAt ?? null,
          created_at: now,
          updated_at: now,
          last_activity_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async update(id: string, changes: AccountUpdate): Promise<void> {
      await db
        .updateTable('accounts')
        .set({ ...changes, updated_at: new Date() })
        .where('id', '=', id)
        .execute();
    },

    async insertEmailToken(token: {
      tokenHash: string;
      accountId: string;
      purpose: EmailTokenTable['purpose'];
      newEmail?: string | null;
      expiresAt: Date;
    }): Promise<void> {
      await db
        .insertInto('email_tokens')
        .values({
          token_hash: token.tokenHash,
          account_id: token.accountId,
          purpose: token.purpose,
          new_email: token.newEmail ?? null,
          expires_at: token.expiresAt,
        })
        .execute();
    },

    /** Marks the token used if it is valid now; returns it, or undefined (unknown, used or expired). Atomic. */
    async useEmailToken(tokenHash: string, purpose: EmailTokenTable['purpose'], now: Date) {
      return db
        .updateTable('email_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['account_id', 'new_email'])
        .executeTakeFirst();
    },

    /** The token if it is valid now, without using it (to show the form a link leads to). */
    findValidEmailToken: (tokenHash: string, purpose: EmailTokenTable['purpose'], now: Date) =>
      db
        .selectFrom('email_tokens')
        .select(['account_id', 'new_email', 'expires_at'])
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst(),

    /** Uses a reset link and sets the new password in one transaction (the link works once). */
    async resetPasswordWithToken(tokenHash: string, passwordHash: string, now: Date): Promise<string | undefined> {
      return db.transaction().execute(async (trx) => {
        const used = await trx
          .updateTable('email_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', tokenHash)
          .where('purpose', '=', 'reset_password')
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('account_id')
          .executeTakeFirst();
        if (!used) return undefined;
        await trx
          .updateTable('accounts')
          .set({
            password_hash: passwordHash,
            password_changed_at: now,
            updated_at: now,
            // The link reached the mailbox: the address is proven.
            email_verified_at: sql`coalesce(email_verified_at, ${now})`,
          })
          .where('id', '=', used.account_id)
          .execute();
        // Other reset links of the account stop working.
        await trx
          .updateTable('email_tokens')
          .set({ used_at: now })
          .where('account_id', '=', used.account_id)
          .where('purpose', '=', 'reset_password')
          .where('used_at', 'is', null)
          .execute();
        await trx
          .insertInto('account_events')
          .values({ account_id: used.account_id, type: 'password_reset', detail: JSON.stringify({}) })
          .execute();
        return used.account_id;
      });
    },

    /**
     * Uses an email-change link and switches the address in one transaction. 'taken' when the
     * new address now belongs to another account (the link stays unused).
     */
    async changeEmailWithToken(
      tokenHash: string,
      now: Date,
    ): Promise<{ accountId: string; oldEmail: string | null; newEmail: string } | 'invalid' | 'taken'> {
      try {
        return await db.transaction().execute(async (trx) => {
          const used = await trx
            .updateTable('email_tokens')
            .set({ used_at: now })
            .where('token_hash', '=', tokenHash)
            .where('purpose', '=', 'change_email')
            .where('used_at', 'is', null)
            .where('expires_at', '>', now)
            .where('new_email', 'is not', null)
            .returning(['account_id', 'new_email'])
            .executeTakeFirst();
          if (!used) return 'invalid' as const;
          const before = await trx
            .selectFrom('accounts')
            .select('email')
            .where('id', '=', used.account_id)
            .forUpdate()
            .executeTakeFirstOrThrow();
          await trx
            .updateTable('accounts')
            .set({ email: used.new_email, email_verified_at: now, updated_at: now })
            .where('id', '=', used.account_id)
            .execute();
          await trx
            .updateTable('email_tokens')
            .set({ used_at: now })
            .where('account_id', '=', used.account_id)
            .where('purpose', '=', 'change_email')
            .where('used_at', 'is', null)
            .execute();
          await trx
            .insertInto('account_events')
            .values({ account_id: used.account_id, type: 'email_changed', detail: JSON.stringify({}) })
            .execute();
          return { accountId: used.account_id, oldEmail: before.email, newEmail: used.new_email! };
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') return 'taken';
        throw err;
      }
    },

    listEvents: (accountId: string, limit = 100) =>
      db
        .selectFrom('account_events')
        .select(['type', 'detail', 'created_at'])
        .where('account_id', '=', accountId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute(),

    /** Sign-ups whose email was never confirmed, created before `cutoff`, that never logged in. */
    async deleteUnverifiedBefore(cutoff: Date): Promise<number> {
      const rows = await db
        .deleteFrom('accounts')
        .where('email_verified_at', 'is', null)
        .where('password_hash', 'is not', null)
        .where('created_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('account_events')
                .select('account_events.id')
                .whereRef('account_events.account_id', '=', 'accounts.id')
                .where('account_events.type', '=', 'login'),
            ),
          ),
        )
        .returning('id')
        .execute();
      return rows.length;
    },

    async recordEvent(accountId: string, type: string, detail: Record<string, unknown> = {}): Promise<void> {
      await db
        .insertInto('account_events')
        .values({ account_id: accountId, type, detail: JSON.stringify(detail) })
        .execute();
    },

    /** Forgets the recorded activity times of this process (tests moving an account back in time). */
    forgetRecordedActivity(id: string): void {
      lastActivityRecorded.delete(id);
    },

    /** At most one write per account per hour, whatever the traffic (inactivity rule). */
    async touchActivity(id: string, now: Date): Promise<void> {
      // Not even sent when this process recorded it within the hour: the update would match nothing.
      const last = lastActivityRecorded.get(id);
      if (last !== undefined && now.getTime() - last < 3600_000) return;
      if (lastActivityRecorded.size >= 100_000) lastActivityRecorded.clear();
      lastActivityRecorded.set(id, now.getTime());
      await db
        .updateTable('accounts')
        .set({ last_activity_at: now })
        .where('id', '=', id)
        .where('last_activity_at', '<', new Date(now.getTime() - 3600_000))
        .execute();
    },
  };
}
export type AccountStore = ReturnType<typeof createAccountStore>;

// Every query on accounts, email tokens and the account activity journal.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Account, AccountUpdate, EmailTokenTable } from '../db/schema.js';

export function createAccountStore(db: Db) {
  return {
    findById: (id: string): Promise<Account | undefined> =>
      db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst(),

    findByEmail: (email: string): Promise<Account | undefined> =>
      db.selectFrom('accounts').selectAll().where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst(),

    async create(values: { email: string | null; passwordHash: string | null; emailVerifiedAt?: Date | null } & AccountUpdate, now = new Date()): Promise<Account> {
      const { email, passwordHash, emailVerifiedAt, ...rest } = values;
      return db.insertInto('accounts').values({
        ...rest,
        id: randomUUID(),
        email,
        password_hash: passwordHash,
        password_changed_at: passwordHash ? now : null,
        email_verified_at: emailVerifiedAt ?? null,
        created_at: now,
        updated_at: now,
        last_activity_at: now,
      }).returningAll().executeTakeFirstOrThrow();
    },

    async update(id: string, changes: AccountUpdate): Promise<void> {
      await db.updateTable('accounts').set({ ...changes, updated_at: new Date() }).where('id', '=', id).execute();
    },

    async insertEmailToken(token: { tokenHash: string; accountId: string; purpose: EmailTokenTable['purpose']; newEmail?: string | null; expiresAt: Date }): Promise<void> {
      await db.insertInto('email_tokens').values({
        token_hash: token.tokenHash,
        account_id: token.accountId,
        purpose: token.purpose,
        new_email: token.newEmail ?? null,
        expires_at: token.expiresAt,
      }).execute();
    },

    /** Marks the token used if it is valid now; returns it, or undefined (unknown, used or expired). Atomic. */
    async useEmailToken(tokenHash: string, purpose: EmailTokenTable['purpose'], now: Date) {
      return db.updateTable('email_tokens').set({ used_at: now })
        .where('token_hash', '=', tokenHash).where('purpose', '=', purpose)
        .where('used_at', 'is', null).where('expires_at', '>', now)
        .returning(['account_id', 'new_email']).executeTakeFirst();
    },

    async recordEvent(accountId: string, type: string, detail: Record<string, unknown> = {}): Promise<void> {
      await db.insertInto('account_events').values({ account_id: accountId, type, detail: JSON.stringify(detail) }).execute();
    },

    /** At most one write per account per hour, whatever the traffic (inactivity rule). */
    async touchActivity(id: string, now: Date): Promise<void> {
      await db.updateTable('accounts').set({ last_activity_at: now })
        .where('id', '=', id).where('last_activity_at', '<', new Date(now.getTime() - 3600_000)).execute();
    },
  };
}
export type AccountStore = ReturnType<typeof createAccountStore>;

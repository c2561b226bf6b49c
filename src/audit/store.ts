// Queries of the staff audit journal.
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { auditEntryHash, type AuditEntry } from './journal.js';

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'prev_hash'>;
export interface AuditFilter {
  staff?: string;
  account?: string;
  action?: string;
  from?: Date;
  to?: Date;
}

/** One global chain: appends are serialised by a transaction-level advisory lock. */
const CHAIN_LOCK = 7_013_001;

export function createAuditStore(db: Db) {
  const filtered = (f: AuditFilter) => {
    let q = db.selectFrom('audit_journal').selectAll();
    if (f.staff) q = q.where('staff_email', '=', f.staff.trim().toLowerCase());
    if (f.account) q = q.where('target_account_id', '=', f.account.trim());
    if (f.action) q = q.where('action', '=', f.action);
    if (f.from) q = q.where('at', '>=', f.from);
    if (f.to) q = q.where('at', '<', f.to);
    return q;
  };
  return {
    async append(entry: NewAuditEntry, trx?: Transaction<Database>): Promise<number> {
      const run = async (t: Transaction<Database>) => {
        await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(t);
        const last = await t.selectFrom('audit_journal').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
        const full: AuditEntry = { ...entry, seq: (last?.seq ?? 0) + 1, prev_hash: last?.hash ?? null };
        await t
          .insertInto('audit_journal')
          .values({ ...full, detail: JSON.stringify(full.detail), hash: auditEntryHash(full) })
          .execute();
        return full.seq;
      };
      return trx ? run(trx) : db.transaction().execute(run);
    },

    forAccount(accountId: string, limit: number) {
      return db
        .selectFrom('audit_journal')
        .selectAll()
        .where('target_account_id', '=', accountId)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
    },

    list(f: AuditFilter, limit: number, offset = 0) {
      return filtered(f).orderBy('seq', 'desc').limit(limit).offset(offset).execute();
    },

    /** Every entry in chain order, in pages (the journal may be large). */
    async *all(pageSize = 1000) {
      let after = 0;
      for (;;) {
        const rows = await db.selectFrom('audit_journal').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
        yield* rows;
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!.seq;
      }
    },

    /** Retention: removes the oldest entries (never a gap in the middle of the chain). */
    async purgeBefore(cutoff: Date): Promise<number> {
      return db.transaction().execute(async (t) => {
        await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(t);
        await sql`select set_config('glc.audit_purge', 'on', true)`.execute(t);
        const last = await t
          .selectFrom('audit_journal')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .where('at', '<', cutoff)
          .executeTakeFirst();
        if (last?.seq === null || last?.seq === undefined) return 0;
        const res = await t.deleteFrom('audit_journal').where('seq', '<=', last.seq).executeTakeFirst();
        return Number(res.numDeletedRows);
      });
    },
  };
}
export type AuditStore = ReturnType<typeof createAuditStore>;

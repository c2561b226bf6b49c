// Tables of the staff audit journal, merged into the Database interface of db/schema.ts.
import type { Json, Timestamp } from '../db/types.js';

/** One staff read or action; one global hash chain ordered by seq. Append-only (trigger). */
export interface AuditJournalTable {
  seq: number;
  staff_account_id: string;
  /** The staff member's address at the time (the account may change or go). */
  staff_email: string;
  role: string;
  action: string;
  target_account_id: string | null;
  target_client_id: string | null;
  reason: string;
  request_id: string;
  detail: Json<Record<string, unknown>>;
  at: Timestamp;
  prev_hash: string | null;
  hash: string;
}

export interface AuditTables {
  audit_journal: AuditJournalTable;
}

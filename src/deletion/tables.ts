// Tables of this domain, merged into the Database interface of db/schema.ts.
import type { ColumnType, Generated } from 'kysely';
import type { Timestamp } from '../db/types.js';

/** Which service knows the account, and by which `sub` (recorded when the service obtains it). */
export interface AccountSubjectTable {
  account_id: string;
  client_id: string;
  sub: string;
  first_seen_at: ColumnType<Date, Date | string | undefined, never>;
}

/** What the deleted-accounts API reports: one record per service that knew a deleted account. */
export interface DeletedAccountTable {
  id: Generated<number>;
  client_id: string;
  sub: string;
  deleted_at: Timestamp;
  reason: 'inactivity' | 'user_request' | 'operator';
}

/**
 * Inactivity warnings sent. A warning belongs to one period of inactivity (activity_at = the
 * account's last_activity_at when it was sent): activity starts a new period, so older rows no
 * longer count and are removed by the next purge run.
 */
export interface InactivityWarningTable {
  account_id: string;
  days_before: number;
  activity_at: Timestamp;
  sent_at: Timestamp;
}

/** A service's poll stream of Security Event Tokens (RFC 8936): every record up to acked_through is acknowledged. */
export interface SecurityEventStreamTable {
  client_id: string;
  acked_through: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Acknowledgements above a stream's acked_through (out of order), or with an error reported by the service. */
export interface SecurityEventAckTable {
  record_id: number;
  client_id: string;
  acked_at: Timestamp;
  err: string | null;
  description: string | null;
}

export interface DeletionTables {
  account_subjects: AccountSubjectTable;
  deleted_accounts: DeletedAccountTable;
  inactivity_warnings: InactivityWarningTable;
  security_event_streams: SecurityEventStreamTable;
  security_event_acks: SecurityEventAckTable;
}

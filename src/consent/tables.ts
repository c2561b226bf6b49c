// Tables of the consent domain, merged into the Database interface of db/schema.ts.
import type { ColumnType, Generated } from 'kysely';
import type { Timestamp } from '../db/types.js';

export type ConsentStatus = 'active' | 'withdrawn' | 'expired';

/** One row per (resident, service): what the resident agreed to share, and until when. */
export interface ConsentTable {
  account_id: string;
  client_id: string;
  status: ConsentStatus;
  /** Data (claim names) the resident agreed to share. */
  claims: string[];
  /** Optional data the resident chose not to share (not asked again for this request version). */
  declined: string[];
  /** Scopes granted to the service (technical scopes included). */
  scopes: string[];
  request_version: number;
  /** The purpose text shown when the consent was given. */
  purpose: string | null;
  method: string;
  granted_at: Timestamp;
  updated_at: Timestamp;
  expires_at: Timestamp;
  last_used_at: Timestamp | null;
  ended_at: Timestamp | null;
  /** The oidc-provider Grant that carries this consent, if one exists. */
  grant_id: string | null;
}

/**
 * Append-only, hash-chained evidence: one chain per resident (subject = HMAC pseudonym of the
 * account). Holds data names, never values. account_id is erased when the account is deleted.
 */
export interface ConsentJournalTable {
  id: Generated<number>;
  subject: string;
  account_id: string | null;
  seq: number;
  event: string;
  client_id: string | null;
  detail: ColumnType<Record<string, unknown>, string, never>;
  at: Timestamp;
  prev_hash: string | null;
  hash: string;
  purge_after: Timestamp | null;
}

export interface ConsentTables {
  consents: ConsentTable;
  consent_journal: ConsentJournalTable;
}

// Tables of the FranceConnect domain, merged into the Database interface of db/schema.ts.
import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Json, Timestamp } from '../db/types.js';

/** One FranceConnect identity (pairwise `sub`) per account, one account per `sub`. */
export interface FranceConnectLinkTable {
  account_id: string;
  sub: string;
  linked_at: Timestamp;
  last_login_at: Timestamp;
}

/** The pivot fields FranceConnect certified for an account (value, source, level, time). */
export interface FranceConnectCertifiedFieldTable {
  account_id: string;
  field: string;
  value: string;
  source: ColumnType<string, string | undefined, string>;
  acr: string;
  certified_at: Timestamp;
}

export type FranceConnectPurpose = 'login' | 'link' | 'logout';
export type FranceConnectOutcome = 'known' | 'auto_linked' | 'choose' | 'linked' | 'link_refused' | 'recovery';

/**
 * One round trip to FranceConnect: its state (stored hashed) and nonce, the browser it is bound
 * to, what it was for, and, once FranceConnect answered, the verified identity until used.
 */
export interface FranceConnectAttemptTable {
  id: string;
  state_hash: string;
  nonce: string;
  browser_hash: string;
  purpose: FranceConnectPurpose;
  interaction_uid: string | null;
  account_id: string | null;
  return_to: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  state_used_at: Timestamp | null;
  outcome: FranceConnectOutcome | null;
  sub: string | null;
  identity: Json<Record<string, unknown>> | null;
  id_token_encrypted: string | null;
  finished_at: Timestamp | null;
  /** After an automatic link: the six values the account declared before (for an undo). */
  declared_before: Json<Record<string, string | null>> | null;
}

/** « Ce n’est pas mon compte »: never link this FranceConnect identity automatically to this account. */
export interface FranceConnectLinkRefusalTable {
  account_id: string;
  sub_hash: string;
  refused_at: CreatedAt;
}

/**
 * A FranceConnect identity the help desk (SAU) may relink to an account whose sub changed: either
 * its six certified fields equal those of an account without password linked to another sub, or
 * the resident asked from the choice page (civil-status change: no account matched).
 */
export interface FranceConnectRecoveryRequestTable {
  reference: string;
  /** Null when the resident asked from the choice page (no account matched): the help desk finds it. */
  account_id: string | null;
  new_sub: string;
  old_sub_hash: string | null;
  new_sub_hash: string;
  /** The new certified identity (FcIdentity), certified on the account when the help desk relinks. */
  identity: Json<Record<string, unknown>> | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  resolved_at: Timestamp | null;
}

/** The raw FranceConnect ID token of a GLC session opened through FranceConnect (logout needs it). */
export interface FranceConnectSessionTable {
  id: Generated<number>;
  account_id: string;
  browser_hash: string;
  id_token_encrypted: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface FranceConnectTables {
  franceconnect_links: FranceConnectLinkTable;
  franceconnect_certified_fields: FranceConnectCertifiedFieldTable;
  franceconnect_attempts: FranceConnectAttemptTable;
  franceconnect_sessions: FranceConnectSessionTable;
  franceconnect_link_refusals: FranceConnectLinkRefusalTable;
  franceconnect_recovery_requests: FranceConnectRecoveryRequestTable;
}

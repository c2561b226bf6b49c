// Tables of the back-office: staff roles, their second factor and their sessions.
import type { ColumnType } from 'kysely';
import type { Json, Timestamp } from '../db/types.js';

export const STAFF_ROLES = ['assistance', 'dpo', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffRoleTable {
  account_id: string;
  role: StaffRole;
  granted_at: ColumnType<Date, Date | undefined, never>;
  granted_by: string | null;
}

export interface StaffSecondFactorTable {
  account_id: string;
  totp_secret_encrypted: string;
  confirmed_at: Timestamp | null;
  /** SHA-256 (keyed) of the unused recovery codes. */
  recovery_codes: Json<string[]>;
  /** The last TOTP time step accepted: a code is never accepted twice. */
  last_step: number | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface StaffSessionTable {
  id_hash: string;
  account_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  second_factor_at: Timestamp | null;
}

export interface AdminTables {
  staff_roles: StaffRoleTable;
  staff_second_factors: StaffSecondFactorTable;
  staff_sessions: StaffSessionTable;
}

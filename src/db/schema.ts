// The typed shape of every table. Migrations in /migrations create them; queries live in
// each domain's store.ts.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { AccountAreaTables } from '../accounts/tables.js';
import type { AdminTables } from '../admin/tables.js';
import type { AuditTables } from '../audit/tables.js';
import type { HelpTables } from '../help/tables.js';
import type { StatisticsTables } from '../statistics/tables.js';
import type { ConsentTables } from '../consent/tables.js';
import type { DeletionTables } from '../deletion/tables.js';
import type { FranceConnectTables } from '../franceconnect/tables.js';

import type { CreatedAt, Json, Timestamp } from './types.js';

export type { CreatedAt, Json, Timestamp } from './types.js';

export interface OidcPayloadTable {
  model: string;
  id: string;
  payload: Json<Record<string, unknown>>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface ClientTable {
  client_id: string;
  name: string;
  organisation: string | null;
  metadata: Json<Record<string, unknown>>;
  secret_encrypted: string | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  logo: Buffer | null;
  logo_type: string | null;
  claims_required: string[];
  claims_optional: string[];
  purpose: string | null;
  request_version: ColumnType<number, number | undefined, number>;
  /** The consented claims go in the ID token too (not only userinfo). */
  claims_in_id_token: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  private_jwk_encrypted: string;
  created_at: CreatedAt;
  /** Signs from then on (published from creation): staged rotation, see src/oidc/keys.ts. */
  activates_at: Timestamp;
  retired_at: Timestamp | null;
}

export interface AccountTable {
  id: string;
  email: string | null;
  email_verified_at: Timestamp | null;
  password_hash: string | null;
  password_changed_at: Timestamp | null;
  given_name: string | null;
  family_name: string | null;
  preferred_username: string | null;
  birthdate: string | null;
  gender: string | null;
  birthplace: string | null;
  birthcountry: string | null;
  phone_number: string | null;
  address_street: string | null;
  address_postal_code: string | null;
  address_locality: string | null;
  address_country: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  last_activity_at: Timestamp;
}

export interface EmailTokenTable {
  token_hash: string;
  account_id: string;
  purpose: 'verify_email' | 'reset_password' | 'change_email';
  new_email: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface AccountEventTable {
  id: Generated<number>;
  account_id: string;
  type: string;
  detail: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface RateLimitTable {
  key: string;
  failures: number;
  window_started_at: Timestamp;
  blocked_until: Timestamp | null;
}

// Each domain declares its own tables next to its store (src/<domain>/tables.ts).
export interface Database
  extends AccountAreaTables, AdminTables, AuditTables, ConsentTables, HelpTables, DeletionTables, FranceConnectTables, StatisticsTables {
  oidc_payloads: OidcPayloadTable;
  clients: ClientTable;
  signing_keys: SigningKeyTable;
  accounts: AccountTable;
  email_tokens: EmailTokenTable;
  account_events: AccountEventTable;
  rate_limits: RateLimitTable;
}

export type Account = Selectable<AccountTable>;
export type NewAccount = Insertable<AccountTable>;
export type AccountUpdate = Updateable<AccountTable>;
export type Client = Selectable<ClientTable>;

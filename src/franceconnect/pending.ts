// What a FranceConnect round trip leaves pending until the resident's next step, and the small
// shared rules of the domain (durations, hashes of states and subs, help-desk references).
import { createHash, randomBytes } from 'node:crypto';
import type { FcIdentity } from './normalise.js';

/** How long a resident may take between the button and the end of the choice page. */
export const ATTEMPT_TTL_MS = 15 * 60_000;
/** A GLC session lives at most 14 days: so does the FranceConnect ID token kept for its logout. */
export const FC_SESSION_TTL_MS = 14 * 24 * 3600_000;
/** How long the help desk can resolve a « sub changed » request with its reference. */
export const RECOVERY_TTL_MS = 30 * 24 * 3600_000;

interface PendingBase {
  id: string;
  identity: FcIdentity;
  idTokenEncrypted: string;
}

/**
 * Where a verified FranceConnect identity stands, and so which steps may follow:
 * - `known`: its sub is linked to `accountId` → log in;
 * - `auto_linked`: linked just now to the one account with the same identity → notice, then
 *   log in or « Ce n’est pas mon compte »;
 * - `choose`: no account (or several) → « J’ai déjà un compte », « Créer mon compte », help desk;
 * - `recovery`: its identity is that of `accountId`, linked to another sub → help-desk reference.
 */
export type PendingLogin =
  | (PendingBase & { outcome: 'known'; accountId: string })
  | (PendingBase & { outcome: 'auto_linked'; accountId: string })
  | (PendingBase & { outcome: 'choose'; accountId: null })
  | (PendingBase & { outcome: 'recovery'; accountId: string });
export type LoginOutcome = PendingLogin['outcome'];
export type PendingChoice = Extract<PendingLogin, { outcome: 'choose' }>;
export type PendingLink = Extract<PendingLogin, { outcome: 'known' | 'auto_linked' }>;
export type PendingRecovery = Extract<PendingLogin, { outcome: 'recovery' }>;

/** Rebuilds the union from a stored attempt, or undefined if the row does not describe one. */
export function pendingFrom(row: {
  id: string;
  outcome: string | null;
  account_id: string | null;
  identity: unknown;
  id_token_encrypted: string | null;
}): PendingLogin | undefined {
  if (!row.identity || !row.id_token_encrypted) return undefined;
  const base = { id: row.id, identity: row.identity as FcIdentity, idTokenEncrypted: row.id_token_encrypted };
  switch (row.outcome) {
    case 'choose':
      return { ...base, outcome: 'choose', accountId: null };
    case 'known':
    case 'auto_linked':
    case 'recovery':
      return row.account_id ? { ...base, outcome: row.outcome, accountId: row.account_id } : undefined;
    default:
      return undefined;
  }
}

export const random64 = (): string => randomBytes(32).toString('hex');
export const hashState = (state: string): string => createHash('sha256').update(state).digest('hex');
/** How the journal names a FranceConnect sub (SHA-256, hex): comparable, not the sub itself. */
export const hashSub = (sub: string): string => createHash('sha256').update(sub).digest('hex');

const REFERENCE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U

/** « FC-7K2M-Q9XD »: 40 random bits, read out over the phone without ambiguity. */
export function recoveryReference(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 8; i++) out = REFERENCE_ALPHABET[Number((bits >> BigInt(5 * i)) & 31n)]! + out;
  return `FC-${out.slice(0, 4)}-${out.slice(4)}`;
}

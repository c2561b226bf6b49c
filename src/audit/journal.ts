// The staff audit journal's evidence format: the consent journal's canonical JSON and SHA-256,
// one chain for the whole journal. Pure functions only.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../consent/journal.js';

export interface AuditEntry {
  seq: number;
  staff_account_id: string;
  staff_email: string;
  role: string;
  action: string;
  target_account_id: string | null;
  target_client_id: string | null;
  reason: string;
  request_id: string;
  detail: Record<string, unknown>;
  at: Date;
  prev_hash: string | null;
}

export function auditEntryHash(e: AuditEntry): string {
  // Named fields only: a stored row carries its own hash, which the hash cannot cover.
  const body = {
    v: 1,
    seq: e.seq,
    staff_account_id: e.staff_account_id,
    staff_email: e.staff_email,
    role: e.role,
    action: e.action,
    target_account_id: e.target_account_id,
    target_client_id: e.target_client_id,
    reason: e.reason,
    request_id: e.request_id,
    detail: e.detail,
    at: e.at.toISOString(),
    prev_hash: e.prev_hash,
  };
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}

export interface AuditBreak {
  seq: number;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
}

/**
 * Checks entries fed in seq order. The first entry kept after a retention purge is the anchor:
 * its prev_hash cannot be checked (its predecessor is gone), everything after it is.
 */
export function createAuditVerifier() {
  let previous: { seq: number; hash: string } | undefined;
  let entries = 0;
  const breaks: AuditBreak[] = [];
  return {
    add(e: AuditEntry & { hash: string }): void {
      entries++;
      if (previous) {
        if (e.seq !== previous.seq + 1) breaks.push({ seq: e.seq, reason: 'sequence_gap' });
        else if (e.prev_hash !== previous.hash) breaks.push({ seq: e.seq, reason: 'prev_hash_mismatch' });
      }
      if (auditEntryHash(e) !== e.hash) breaks.push({ seq: e.seq, reason: 'hash_mismatch' });
      previous = { seq: e.seq, hash: e.hash };
    },
    result() {
      return { ok: breaks.length === 0, entries, breaks, head: previous?.hash ?? null };
    },
  };
}

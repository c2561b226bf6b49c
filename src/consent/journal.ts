// The consent journal's evidence format: canonical JSON, SHA-256, one hash chain per resident.
// Each entry carries the hash of the previous entry of the same subject; altering, inserting or
// removing an entry in the middle of a chain changes every hash after it. Pure functions only.
import { createHash } from 'node:crypto';

export const JOURNAL_EVENTS = ['granted', 'extended', 'partially_withdrawn', 'withdrawn', 'expired', 'deleted_with_account'] as const;
export type JournalEvent = (typeof JOURNAL_EVENTS)[number];

/** What the hash covers: every column but the row id, account_id (erased on deletion) and purge_after. */
export interface ChainedEntry {
  subject: string;
  seq: number;
  event: string;
  client_id: string | null;
  detail: Record<string, unknown>;
  at: Date;
  prev_hash: string | null;
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function entryHash(entry: ChainedEntry): string {
  const body = canonicalJson({
    v: 1,
    subject: entry.subject,
    seq: entry.seq,
    event: entry.event,
    client_id: entry.client_id,
    detail: entry.detail,
    at: entry.at.toISOString(),
    prev_hash: entry.prev_hash,
  });
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

export type BreakReason = 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'unknown_event';

export interface ChainBreak {
  subject: string;
  /** Row id of the first entry that does not verify. */
  entryId: number;
  seq: number;
  reason: BreakReason;
  detail: string;
}

export interface StoredEntry extends ChainedEntry {
  id: number;
  hash: string;
}

/**
 * Checks chains incrementally: feed entries ordered by (subject, seq); the first break of each
 * chain is kept, the rest of that chain is skipped (everything after a break is suspect).
 */
export function createChainVerifier() {
  let subject: string | null = null;
  let expectedSeq = 1;
  let previousHash: string | null = null;
  let brokenSubject: string | null = null;
  const breaks: ChainBreak[] = [];
  const heads = createHash('sha256');
  let chains = 0;
  let entries = 0;
  let lastHead: string | null = null;

  const closeChain = () => {
    if (subject !== null && brokenSubject !== subject && lastHead) heads.update(`${subject}:${lastHead}\n`);
  };

  return {
    add(e: StoredEntry): void {
      entries++;
      if (e.subject !== subject) {
        closeChain();
        subject = e.subject;
        chains++;
        expectedSeq = 1;
        previousHash = null;
        lastHead = null;
      }
      if (brokenSubject === subject) return;
      const fail = (reason: BreakReason, detail: string) => {
        breaks.push({ subject: e.subject, entryId: e.id, seq: e.seq, reason, detail });
        brokenSubject = e.subject;
      };
      if (e.seq !== expectedSeq)
        return fail('sequence_gap', `expected entry #${expectedSeq} of the chain, found #${e.seq} (entries removed or inserted)`);
      if (e.prev_hash !== previousHash)
        return fail(
          'prev_hash_mismatch',
          `prev_hash ${e.prev_hash ?? 'null'} does not match the previous entry's hash ${previousHash ?? 'null'}`,
        );
      if (!(JOURNAL_EVENTS as readonly string[]).includes(e.event)) return fail('unknown_event', `unknown event « ${e.event} »`);
      const computed = entryHash(e);
      if (computed !== e.hash) return fail('hash_mismatch', `stored hash ${e.hash} but content hashes to ${computed} (entry altered)`);
      previousHash = e.hash;
      lastHead = e.hash;
      expectedSeq++;
    },
    result() {
      closeChain();
      subject = null;
      return {
        ok: breaks.length === 0,
        chains,
        entries,
        breaks,
        /** Digest of every intact chain head: archive it elsewhere to detect later truncation. */
        headsDigest: heads.digest('hex'),
      };
    },
  };
}
export type VerifyReport = ReturnType<ReturnType<typeof createChainVerifier>['result']>;

/** What an entry says: its event and detail (the store adds subject, sequence, time and hashes). */
export interface JournalRecord {
  event: JournalEvent;
  detail: Record<string, unknown>;
}

/** The consent as the journal describes it when it ends. */
interface EndingConsent {
  claims: string[];
  request_version: number;
  expires_at: Date;
}

/**
 * One constructor per event: every entry of a kind has the same fields, whoever writes it.
 * Claims are given in the canonical order of the caller (consent/service.ts).
 */
export const journalEntries = {
  granted: (o: {
    claims: string[];
    declined: string[];
    requestVersion: number;
    purpose: string | null;
    expiresAt: Date;
  }): JournalRecord => ({
    event: 'granted',
    detail: {
      request_version: o.requestVersion,
      purpose: o.purpose,
      method: 'web_form',
      claims: o.claims,
      declined: o.declined,
      expires_at: o.expiresAt.toISOString(),
    },
  }),
  extended: (o: {
    added: string[];
    declined: string[];
    consented: string[];
    requestVersion: number;
    purpose: string | null;
  }): JournalRecord => ({
    event: 'extended',
    detail: {
      request_version: o.requestVersion,
      purpose: o.purpose,
      method: 'web_form',
      claims: o.added,
      declined: o.declined,
      consented: o.consented,
    },
  }),
  expired: (consent: EndingConsent, claims: string[]): JournalRecord => ({
    event: 'expired',
    detail: { claims, request_version: consent.request_version, method: 'automatic', expires_at: consent.expires_at.toISOString() },
  }),
  withdrawn: (consent: EndingConsent, claims: string[]): JournalRecord => ({
    event: 'withdrawn',
    detail: { claims, request_version: consent.request_version, method: 'account_area' },
  }),
  partiallyWithdrawn: (consent: EndingConsent, removed: string[], remaining: string[]): JournalRecord => ({
    event: 'partially_withdrawn',
    detail: { claims: removed, consented: remaining, request_version: consent.request_version, method: 'account_area' },
  }),
  deletedWithAccount: (services: string[]): JournalRecord => ({
    event: 'deleted_with_account',
    detail: { services, method: 'account_deletion' },
  }),
};

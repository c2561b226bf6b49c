// The staff audit journal's pure rules: the chain verifier and the CSV export.
import { describe, expect, it } from 'vitest';
import { auditEntryHash, createAuditVerifier, type AuditEntry } from '../../src/audit/journal.js';
import { toCsv } from '../../src/audit/service.js';

function chain(n: number, firstSeq = 1): (AuditEntry & { hash: string })[] {
  const out: (AuditEntry & { hash: string })[] = [];
  let prev: string | null = null;
  for (let i = 0; i < n; i++) {
    const e: AuditEntry = {
      seq: firstSeq + i,
      staff_account_id: 'a1',
      staff_email: 'agent@grandlyon.fr',
      role: 'assistance',
      action: 'account_viewed',
      target_account_id: `acc-${i}`,
      target_client_id: null,
      reason: `motif ${i}`,
      request_id: `r${i}`,
      detail: { b: 1, a: [i] },
      at: new Date(Date.UTC(2026, 0, 1, 0, i)),
      prev_hash: prev,
    };
    const hash = auditEntryHash(e);
    out.push({ ...e, hash });
    prev = hash;
  }
  return out;
}
const verify = (entries: (AuditEntry & { hash: string })[]) => {
  const v = createAuditVerifier();
  entries.forEach((e) => v.add(e));
  return v.result();
};

describe('audit chain', () => {
  it('verifies an intact chain, and one whose oldest entries were purged (anchor)', () => {
    expect(verify(chain(5))).toMatchObject({ ok: true, entries: 5 });
    expect(verify(chain(5).slice(2))).toMatchObject({ ok: true, entries: 3 });
  });

  it('does not depend on the key order of detail (canonical JSON)', () => {
    const [e] = chain(1);
    expect(auditEntryHash({ ...e!, detail: { a: [0], b: 1 } })).toBe(e!.hash);
  });

  it('finds an altered field, a removed entry and a forged re-hash', () => {
    const altered = chain(4);
    altered[1] = { ...altered[1]!, reason: 'autre motif' };
    expect(verify(altered).breaks).toEqual([{ seq: 2, reason: 'hash_mismatch' }]);

    const removed = chain(4);
    removed.splice(2, 1);
    expect(verify(removed).breaks).toEqual([{ seq: 4, reason: 'sequence_gap' }]);

    // Re-hashing the altered entry alone breaks the link to the next one.
    const rehashed = chain(4);
    const forged = { ...rehashed[1]!, reason: 'autre motif' };
    rehashed[1] = { ...forged, hash: auditEntryHash(forged) };
    expect(verify(rehashed).breaks).toEqual([{ seq: 3, reason: 'prev_hash_mismatch' }]);
  });
});

describe('CSV export', () => {
  it('quotes separators and quotes, and neutralises spreadsheet formulas', () => {
    expect(toCsv([['a;b', 'dit "oui"', '=HYPERLINK("x")', 3, null]])).toBe('"a;b";"dit ""oui""";"\'=HYPERLINK(""x"")";3;\r\n');
  });
});

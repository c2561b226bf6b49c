// The consent journal's evidence format (src/consent/journal.ts): canonical JSON, entry hashes
// and the chain verifier. Pure functions; chains built in memory.
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  createChainVerifier,
  entryHash,
  JOURNAL_EVENTS,
  journalEntries,
  type ChainedEntry,
  type JournalRecord,
  type StoredEntry,
} from '../../src/consent/journal.js';

describe('canonicalJson', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [{ y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}');
  });

  it('keeps array order', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson({ claims: ['email', 'given_name'] })).not.toBe(canonicalJson({ claims: ['given_name', 'email'] }));
  });

  it('is valid JSON holding the same value', () => {
    const value = { text: 'Guillemets « " » et \\ et \n', n: -1.5, t: true, f: false, z: null, list: [{ k: 'v' }, [], {}] };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('sorts keys by code unit, not by locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, é: 4 })).toBe('{"B":2,"a":3,"b":1,"é":4}');
  });

  it('writes dates as ISO strings', () => {
    expect(canonicalJson({ at: new Date('2026-11-30T12:00:00Z') })).toBe('{"at":"2026-11-30T12:00:00.000Z"}');
  });

  it('omits undefined members, writes undefined array items as null', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson([1, undefined, 3])).toBe('[1,null,3]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('distinguishes values JSON distinguishes', () => {
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ a: [] })).not.toBe(canonicalJson({ a: {} }));
  });
});

const ENTRY: ChainedEntry = {
  subject: 'pseudonym-a',
  seq: 1,
  event: 'granted',
  client_id: 'mediatheque',
  detail: { claims: ['given_name', 'email'], declined: [], request_version: 1, method: 'web_form' },
  at: new Date('2026-11-30T12:00:00Z'),
  prev_hash: null,
};

describe('entryHash', () => {
  it('is a SHA-256 hex digest, the same for the same entry', () => {
    expect(entryHash(ENTRY)).toMatch(/^[0-9a-f]{64}$/);
    expect(entryHash({ ...ENTRY, detail: { ...ENTRY.detail }, at: new Date(ENTRY.at.getTime()) })).toBe(entryHash(ENTRY));
  });

  it('does not depend on the key order of detail', () => {
    expect(entryHash({ ...ENTRY, detail: { method: 'web_form', request_version: 1, declined: [], claims: ['given_name', 'email'] } })).toBe(
      entryHash(ENTRY),
    );
  });

  it.each<[string, Partial<ChainedEntry>]>([
    ['subject', { subject: 'pseudonym-b' }],
    ['seq', { seq: 2 }],
    ['event', { event: 'withdrawn' }],
    ['client_id', { client_id: 'toodego' }],
    ['client_id null', { client_id: null }],
    ['detail value', { detail: { ...ENTRY.detail, claims: ['given_name'] } }],
    ['detail order of data', { detail: { ...ENTRY.detail, claims: ['email', 'given_name'] } }],
    ['detail extra key', { detail: { ...ENTRY.detail, extra: true } }],
    ['at, by one millisecond', { at: new Date(ENTRY.at.getTime() + 1) }],
    ['prev_hash', { prev_hash: 'f'.repeat(64) }],
  ])('changes when %s changes', (_what, change) => {
    expect(entryHash({ ...ENTRY, ...change })).not.toBe(entryHash(ENTRY));
  });

  it('ignores what the hash must not cover (row id, account id, stored hash)', () => {
    const stored = { ...ENTRY, id: 42, account_id: 'acc-1', hash: 'whatever', purge_after: new Date() };
    expect(entryHash(stored)).toBe(entryHash(ENTRY));
  });
});

let nextId = 1;
/** A well-formed chain of `events` for one subject. */
function chain(subject: string, events: string[]): StoredEntry[] {
  const out: StoredEntry[] = [];
  for (const [i, event] of events.entries()) {
    const entry: ChainedEntry = {
      subject,
      seq: i + 1,
      event,
      client_id: 'mediatheque',
      detail: { claims: ['given_name'], n: i },
      at: new Date(Date.UTC(2026, 0, 1 + i)),
      prev_hash: out.at(-1)?.hash ?? null,
    };
    out.push({ ...entry, id: nextId++, hash: entryHash(entry) });
  }
  return out;
}

/** Recomputes the hash of an entry after a change (a forger who recomputes hashes). */
const rehash = (e: StoredEntry): StoredEntry => ({ ...e, hash: entryHash(e) });

function verify(entries: StoredEntry[]) {
  const v = createChainVerifier();
  for (const e of entries) v.add(e);
  return v.result();
}

describe('createChainVerifier', () => {
  const a = chain('subject-a', ['granted', 'extended', 'partially_withdrawn', 'withdrawn']);
  const b = chain('subject-b', ['granted', 'expired', 'deleted_with_account']);

  it('intact chains verify, counted by chain and entry', () => {
    expect(verify([...a, ...b])).toMatchObject({ ok: true, chains: 2, entries: 7, breaks: [] });
  });

  it('no entries: ok, nothing counted', () => {
    expect(verify([])).toMatchObject({ ok: true, chains: 0, entries: 0, breaks: [] });
  });

  it('an altered entry breaks its chain at that entry (hash_mismatch), and only that chain', () => {
    const altered = a.map((e) => (e.seq === 2 ? { ...e, detail: { claims: ['given_name', 'birthdate'], n: 1 } } : e));
    const r = verify([...altered, ...b]);
    expect(r.ok).toBe(false);
    expect(r.breaks).toEqual([expect.objectContaining({ subject: 'subject-a', entryId: a[1]!.id, seq: 2, reason: 'hash_mismatch' })]);
  });

  it('an altered date is detected', () => {
    const altered = a.map((e) => (e.seq === 3 ? { ...e, at: new Date(e.at.getTime() + 1000) } : e));
    expect(verify(altered).breaks).toEqual([expect.objectContaining({ seq: 3, reason: 'hash_mismatch' })]);
  });

  it('a removed entry is a sequence gap at the next one', () => {
    const r = verify([a[0]!, a[2]!, a[3]!]);
    expect(r.breaks).toEqual([expect.objectContaining({ entryId: a[2]!.id, seq: 3, reason: 'sequence_gap' })]);
  });

  it('a removed first entry is a sequence gap', () => {
    expect(verify(a.slice(1)).breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'sequence_gap' })]);
  });

  it('a chain must start at 1 with no previous hash', () => {
    const zero = rehash({ ...a[0]!, seq: 0 });
    expect(verify([zero]).breaks).toEqual([expect.objectContaining({ reason: 'sequence_gap' })]);
    const withPrev = rehash({ ...a[0]!, prev_hash: 'f'.repeat(64) });
    expect(verify([withPrev]).breaks).toEqual([expect.objectContaining({ seq: 1, reason: 'prev_hash_mismatch' })]);
  });

  it('a rewritten entry with a recomputed hash breaks the link to the next one', () => {
    const forged = rehash({ ...a[1]!, detail: { claims: [], n: 1 } });
    const r = verify([a[0]!, forged, a[2]!, a[3]!]);
    expect(r.breaks).toEqual([expect.objectContaining({ entryId: a[2]!.id, seq: 3, reason: 'prev_hash_mismatch' })]);
  });

  it('a removed entry with the rest renumbered and rehashed still breaks at the link', () => {
    const renumbered = rehash({ ...a[2]!, seq: 2 });
    expect(verify([a[0]!, renumbered]).breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'prev_hash_mismatch' })]);
  });

  it('an inserted entry that repeats a sequence number is a sequence gap', () => {
    expect(verify([a[0]!, a[1]!, a[1]!, a[2]!]).breaks).toEqual([expect.objectContaining({ seq: 2, reason: 'sequence_gap' })]);
  });

  it('an unknown event is refused even with a correct hash', () => {
    const odd = chain('subject-c', ['granted', 'renewed']);
    expect(verify(odd).breaks).toEqual([expect.objectContaining({ subject: 'subject-c', seq: 2, reason: 'unknown_event' })]);
  });

  it('keeps one break per chain, and breaks in several chains are all reported', () => {
    const brokenA = a.map((e) => (e.seq >= 2 ? { ...e, client_id: 'other' } : e));
    const brokenB = [b[0]!, b[2]!];
    const r = verify([...brokenA, ...brokenB]);
    expect(r.breaks.map((x) => [x.subject, x.seq, x.reason])).toEqual([
      ['subject-a', 2, 'hash_mismatch'],
      ['subject-b', 3, 'sequence_gap'],
    ]);
    expect(r.entries).toBe(6);
    expect(r.chains).toBe(2);
  });

  describe('heads digest', () => {
    it('is the same for the same journal', () => {
      expect(verify([...a, ...b]).headsDigest).toBe(verify([...a, ...b]).headsDigest);
      expect(verify([...a, ...b]).headsDigest).toMatch(/^[0-9a-f]{64}$/);
    });

    it('changes when a chain loses its last entries, which the chain itself cannot show', () => {
      const truncated = verify([...a.slice(0, 3), ...b]);
      expect(truncated.ok).toBe(true);
      expect(truncated.headsDigest).not.toBe(verify([...a, ...b]).headsDigest);
    });

    it('changes when a chain grows', () => {
      const longer = chain('subject-d', ['granted', 'extended']);
      expect(verify([...a, ...longer]).headsDigest).not.toBe(verify([...a, longer[0]!]).headsDigest);
    });

    it('leaves broken chains out', () => {
      const brokenA = a.map((e) => (e.seq === 4 ? { ...e, event: 'expired' } : e));
      expect(verify([...brokenA, ...b]).headsDigest).toBe(verify(b).headsDigest);
      expect(verify([...a, ...b]).headsDigest).not.toBe(verify(b).headsDigest);
    });
  });
});

describe('journalEntries', () => {
  const ending = { claims: ['given_name', 'email'], request_version: 4, expires_at: new Date('2027-12-30T12:00:00Z') };
  const records: [string, JournalRecord][] = [
    [
      'granted',
      journalEntries.granted({
        claims: ['given_name'],
        declined: ['email'],
        requestVersion: 4,
        purpose: 'Emprunts',
        expiresAt: ending.expires_at,
      }),
    ],
    [
      'extended',
      journalEntries.extended({
        added: ['email'],
        declined: [],
        consented: ['given_name', 'email'],
        requestVersion: 4,
        purpose: 'Emprunts',
      }),
    ],
    ['partially_withdrawn', journalEntries.partiallyWithdrawn(ending, ['email'], ['given_name'])],
    ['withdrawn', journalEntries.withdrawn(ending, ['given_name', 'email'])],
    ['expired', journalEntries.expired(ending, ['given_name', 'email'])],
    ['deleted_with_account', journalEntries.deletedWithAccount(['mediatheque', 'toodego'])],
  ];

  it('has one constructor per journal event', () => {
    expect(records.map(([, r]) => r.event).sort()).toEqual([...JOURNAL_EVENTS].sort());
    for (const [event, r] of records) expect(r.event).toBe(event);
  });

  it('records how each change was made', () => {
    const methods = Object.fromEntries(records.map(([event, r]) => [event, r.detail.method]));
    expect(methods).toEqual({
      granted: 'web_form',
      extended: 'web_form',
      partially_withdrawn: 'account_area',
      withdrawn: 'account_area',
      expired: 'automatic',
      deleted_with_account: 'account_deletion',
    });
  });

  it('granted holds the request version, purpose, data agreed and declined, and the expiry as an ISO string', () => {
    expect(records[0]![1].detail).toEqual({
      request_version: 4,
      purpose: 'Emprunts',
      method: 'web_form',
      claims: ['given_name'],
      declined: ['email'],
      expires_at: '2027-12-30T12:00:00.000Z',
    });
  });

  it('extended tells the data added apart from everything now agreed', () => {
    expect(records[1]![1].detail).toMatchObject({ claims: ['email'], consented: ['given_name', 'email'], request_version: 4 });
  });

  it('partial withdrawal tells the data removed apart from those kept', () => {
    expect(records[2]![1].detail).toMatchObject({ claims: ['email'], consented: ['given_name'], request_version: 4 });
  });

  it('expiry records when the consent expired; withdrawal does not', () => {
    expect(records[4]![1].detail).toMatchObject({
      claims: ['given_name', 'email'],
      expires_at: '2027-12-30T12:00:00.000Z',
      request_version: 4,
    });
    expect(records[3]![1].detail).not.toHaveProperty('expires_at');
  });

  it('every entry survives the canonical JSON unchanged (no Date or undefined left in a detail)', () => {
    for (const [event, r] of records) expect(JSON.parse(canonicalJson(r.detail)), event).toEqual(r.detail);
  });

  it('a chain written with them verifies', () => {
    const entries: StoredEntry[] = [];
    for (const [i, [, r]] of records.entries()) {
      const entry: ChainedEntry = {
        subject: 'subject-j',
        seq: i + 1,
        client_id: r.event === 'deleted_with_account' ? null : 'mediatheque',
        at: new Date(Date.UTC(2026, 5, 1 + i)),
        prev_hash: entries.at(-1)?.hash ?? null,
        ...r,
      };
      entries.push({ ...entry, id: 1000 + i, hash: entryHash(entry) });
    }
    expect(verify(entries)).toMatchObject({ ok: true, chains: 1, entries: 6 });
  });
});

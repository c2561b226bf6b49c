// Job list rules of the scheduler (src/jobs/scheduler.ts): unique, well-formed names, positive
// periods, and one advisory-lock key per name. No database.
import { describe, expect, it } from 'vitest';
import { checkJobs, jobLockKey, type Job } from '../../src/jobs/scheduler.js';

const job = (name: string, everyMs = 60_000): Job => ({ name, everyMs, run: () => Promise.resolve() });
const GLC_JOBS = ['cleanup-expired', 'franceconnect-cleanup', 'consent-maintenance', 'purge-unverified-signups', 'inactivity-purge'];

describe('jobLockKey', () => {
  it('is stable for a name', () => {
    expect(jobLockKey('consent-maintenance')).toBe(jobLockKey('consent-maintenance'));
  });

  it('is a non-negative safe integer of 48 bits at most (PostgreSQL bigint, unchanged)', () => {
    for (const name of [...GLC_JOBS, '', 'a', 'x'.repeat(1000)]) {
      const key = jobLockKey(name);
      expect(Number.isSafeInteger(key), name).toBe(true);
      expect(key).toBeGreaterThanOrEqual(0);
      expect(key).toBeLessThan(2 ** 48);
    }
  });

  it('differs between names, even close ones', () => {
    const names = [...GLC_JOBS, ...Array.from({ length: 500 }, (_, i) => `job-${i}`), 'purge', 'purge ', 'Purge'];
    expect(new Set(names.map(jobLockKey)).size).toBe(names.length);
  });

  it('uses the high bits too (not a small hash that would collide early)', () => {
    const keys = Array.from({ length: 64 }, (_, i) => jobLockKey(`job-${i}`));
    expect(keys.some((k) => k >= 2 ** 40)).toBe(true);
  });
});

describe('checkJobs', () => {
  it('accepts the jobs of GLC, and an empty list', () => {
    expect(() => checkJobs(GLC_JOBS.map((n) => job(n)))).not.toThrow();
    expect(() => checkJobs([])).not.toThrow();
  });

  it('refuses two jobs of one name, even far apart in the list', () => {
    const jobs = [job('consent-maintenance'), job('cleanup-expired'), job('purge-unverified-signups'), job('consent-maintenance', 5_000)];
    expect(() => checkJobs(jobs)).toThrow(/consent-maintenance.*unique/);
  });

  it.each(['', 'Purge', 'purge_accounts', 'purge accounts', 'purgé', 'purge:accounts', ' purge', 'purge\n'])(
    'refuses the name %j',
    (name) => {
      expect(() => checkJobs([job(name)])).toThrow(/lowercase letters, digits and dashes/);
    },
  );

  it('accepts digits and dashes', () => {
    expect(() => checkJobs([job('a'), job('0'), job('purge-2-accounts'), job('-')])).not.toThrow();
  });

  // Above 2^31-1 ms Node fires a timer every millisecond: such a period is refused too.
  it.each([0, -1, -60_000, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY])('refuses the period %s', (everyMs) => {
    expect(() => checkJobs([job('purge', everyMs)])).toThrow(/everyMs must be between 1 and 2147483647/);
  });

  it('accepts the longest period a timer holds (24.8 days)', () => {
    expect(() => checkJobs([job('purge', 2 ** 31 - 1)])).not.toThrow();
  });

  it('accepts the smallest positive period', () => {
    expect(() => checkJobs([job('purge', 1)])).not.toThrow();
  });

  it('a bad job anywhere in the list refuses the whole list', () => {
    expect(() => checkJobs([job('cleanup-expired'), job('purge', 0)])).toThrow(/purge/);
    expect(() => checkJobs([job('cleanup-expired'), job('Bad')])).toThrow(/Bad/);
  });
});

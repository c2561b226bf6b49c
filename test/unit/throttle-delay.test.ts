// Login throttling delays (src/http/throttle.ts, CNIL deliberation 2022-100): free failures,
// then 30 s doubling at each failure, capped at one hour. Pure function.
import { describe, expect, it } from 'vitest';
import { delayAfter, FREE_FAILURES } from '../../src/http/throttle.js';

const S = 1000;
const HOUR = 3600 * S;

describe('delayAfter', () => {
  it('five failures are free: the fifth blocks for 30 s, so the sixth try waits', () => {
    expect(FREE_FAILURES).toBe(5);
    for (const n of [0, 1, 2, 3, 4]) expect(delayAfter(n), `${n}`).toBe(0);
    expect(delayAfter(5)).toBe(30 * S);
  });

  it('doubles at each further failure: 30 s, 1 min, 2 min, 4 min …', () => {
    expect([5, 6, 7, 8, 9, 10, 11].map((n) => delayAfter(n))).toEqual([30, 60, 120, 240, 480, 960, 1920].map((s) => s * S));
  });

  it('is capped at one hour', () => {
    expect(delayAfter(11)).toBeLessThan(HOUR);
    expect(delayAfter(12)).toBe(HOUR);
    expect(delayAfter(13)).toBe(HOUR);
    expect(delayAfter(10_000)).toBe(HOUR);
  });

  it('never decreases as failures grow', () => {
    let previous = 0;
    for (let n = 0; n <= 40; n++) {
      const d = delayAfter(n);
      expect(d).toBeGreaterThanOrEqual(previous);
      previous = d;
    }
  });

  it('shared keys get more free failures, then the same progression', () => {
    expect(delayAfter(19, 20)).toBe(0);
    expect(delayAfter(20, 20)).toBe(30 * S);
    expect(delayAfter(21, 20)).toBe(60 * S);
    expect(delayAfter(27, 20)).toBe(HOUR);
    // The default is not used when a count is given.
    expect(delayAfter(5, 20)).toBe(0);
  });
});

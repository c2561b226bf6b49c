// argon2id runs one computation per core at a time: a burst of logins queues instead of taking
// every libuv thread and 19 MiB per hash at once; each login still gets its own correct answer.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hashingLoad, hashPassword, shareHashingCores, verifyPassword } from '../../src/accounts/passwords.js';

describe('password hashing under a burst', () => {
  it('computes at most one hash per core at once, and answers every request correctly', async () => {
    const hash = await hashPassword('girafe tram fourvière 1789 croissant');
    const cores = Math.max(1, availableParallelism());
    const attempts = Array.from({ length: cores * 3 }, (_, i) => (i % 2 === 0 ? 'girafe tram fourvière 1789 croissant' : `mauvais ${i}`));
    const seen: { active: number; waiting: number }[] = [];
    const sampler = setInterval(() => seen.push(hashingLoad()), 1);
    const results = await Promise.all(attempts.map((password) => verifyPassword(hash, password)));
    clearInterval(sampler);
    expect(results).toEqual(attempts.map((_, i) => i % 2 === 0));
    expect(Math.max(...seen.map((s) => s.active))).toBe(cores);
    expect(Math.max(...seen.map((s) => s.waiting))).toBeGreaterThan(0);
    expect(hashingLoad()).toEqual({ active: 0, waiting: 0 });
  });

  it('shares the cores between the processes of a cluster (GLC_WORKERS)', async () => {
    const hash = await hashPassword('girafe tram fourvière 1789 croissant');
    const cores = Math.max(1, availableParallelism());
    const peak = async () => {
      const seen: number[] = [];
      const sampler = setInterval(() => seen.push(hashingLoad().active), 1);
      await Promise.all(Array.from({ length: cores * 3 }, () => verifyPassword(hash, 'mauvais mot de passe')));
      clearInterval(sampler);
      return Math.max(...seen);
    };
    try {
      shareHashingCores(cores); // one process per core: one hash at a time in each
      expect(await peak()).toBe(1);
      shareHashingCores(cores * 4); // more processes than cores: still one
      expect(await peak()).toBe(1);
    } finally {
      shareHashingCores(1);
    }
    expect(await peak()).toBe(cores);
  });
});

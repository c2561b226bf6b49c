// The production image bounds each process's heap (Dockerfile ENV NODE_OPTIONS): the options must
// be ones Node accepts, and give the bound the performance figures were measured with.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { productionMemoryEnv } from '../../bench/http.js';

describe('production Node.js options', () => {
  it('start Node with a heap bounded near 160 MiB of old space', () => {
    const options = productionMemoryEnv().NODE_OPTIONS!;
    expect(options).toMatch(/--max-old-space-size=\d+/);
    const limit = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], {
        env: { PATH: process.env.PATH, NODE_OPTIONS: options },
      }).toString(),
    );
    const mib = limit / 1024 / 1024;
    expect(mib).toBeGreaterThan(150);
    expect(mib).toBeLessThan(200);
  });

  it('limit glibc to two malloc arenas (the bench runs GLC with the same settings)', () => {
    // Without it each libuv thread (WebCrypto, argon2id) keeps its own arena: ≈ 50 MiB more at the code flow's peak.
    expect(productionMemoryEnv()).toMatchObject({ MALLOC_ARENA_MAX: '2' });
  });

  it("give argon2id's 19 MiB blocks back to the system once hashed (GLIBC_TUNABLES)", () => {
    // Without the tunables glibc raises its mapping threshold after the first free and keeps the
    // blocks in its arenas: ≈ 20 MiB more after this burst, ≈ 50 MiB at the login peak.
    const env = productionMemoryEnv();
    expect(env.GLIBC_TUNABLES).toContain('glibc.malloc.mmap_threshold=131072');
    const script = `
      import argon2 from 'argon2';
      const rss = () => process.memoryUsage().rss / 1048576;
      const before = rss();
      const options = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
      await Promise.all([0, 1].map(async () => { for (let i = 0; i < 6; i++) await argon2.hash('mot de passe', options); }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      process.stdout.write(String(rss() - before));`;
    const grown = (extra: Record<string, string>) =>
      Number(
        execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX, ...extra },
        }).toString(),
      );
    expect(grown({ GLIBC_TUNABLES: env.GLIBC_TUNABLES! })).toBeLessThan(10);
  });
});

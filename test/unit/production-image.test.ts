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
});

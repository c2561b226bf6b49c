import { defineConfig } from 'vitest/config';

// The embedded-database smoke test starts `npm start` itself with an empty environment.
export default defineConfig({
  test: { include: ['test/smoke/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, maxWorkers: 1 },
});

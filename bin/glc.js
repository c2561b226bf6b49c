#!/usr/bin/env node
// The glc command: compiled JavaScript when built (Docker image), TypeScript through tsx otherwise.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let runCli;
if (existsSync(compiled)) {
  ({ runCli } = await import(compiled));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ runCli } = await import('../src/cli/main.ts'));
}
process.exit(await runCli(process.argv.slice(2)));

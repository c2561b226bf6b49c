// Files shipped beside the code (views, fixtures) are found from the project root, so the
// same code runs from src/ (tsx, tests) and from the compiled dist/src/ (Docker image).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('project root (package.json) not found');
    dir = parent;
  }
  return dir;
}

const root = findRoot();

export function projectPath(...segments: string[]): string {
  return path.join(root, ...segments);
}

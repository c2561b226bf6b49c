import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

const VIEWS_SUBDIR = join('views', 'franceconnect-mock');

/**
 * Finds views/franceconnect-mock by walking up from this file, so the same code works from
 * src/ (tsx, vitest) and from a compiled output folder.
 */
function findViewsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, VIEWS_SUBDIR);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`FranceConnect mock: ${VIEWS_SUBDIR} not found`);
    dir = parent;
  }
}

export type MockViews = nunjucks.Environment;

export function createViews(): MockViews {
  return new nunjucks.Environment(new nunjucks.FileSystemLoader(findViewsDir()), {
    autoescape: true,
    throwOnUndefined: false,
  });
}

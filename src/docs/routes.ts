// The connection kit, published by GLC itself at /docs (discovery's service_documentation).
// Markdown files of docs/ are rendered once at start-up; they are our own, trusted content.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { marked } from 'marked';
import { render } from '../http/views.js';
import { projectPath } from '../paths.js';

/** Public documents, in reading order (docs/exploitation.md is for operators and stays internal). */
const PUBLIC_DOCS = ['kit-de-raccordement', 'api-comptes-supprimes', 'consentement', 'fiche-identite', 'franceconnect'] as const;

interface Doc { name: string; title: string; html: string }

function load(name: string): Doc {
  const markdown = readFileSync(projectPath('docs', `${name}.md`), 'utf8');
  const title = /^#\s+(.+)$/m.exec(markdown)?.[1] ?? name;
  // Links between documents point to their published page.
  const html = (marked.parse(markdown, { async: false }) as string)
    .replace(/href="(?:\.\/|docs\/)?([a-z-]+)\.md(#[^"]*)?"/g, (_m, doc: string, hash: string | undefined) => `href="/docs/${doc}${hash ?? ''}"`);
  return { name, title, html };
}

export function docsRoutes(): Router {
  const docs = new Map(PUBLIC_DOCS.map((name) => [name, load(name)]));
  const router = new Router({ prefix: '/docs' });
  router.get('/', (ctx) => render(ctx, 'docs/index.njk', { title: 'Documentation pour les services', docs: [...docs.values()] }));
  router.get('/:name', (ctx) => {
    const doc = docs.get(ctx.params.name as (typeof PUBLIC_DOCS)[number]);
    if (!doc) return ctx.throw(404);
    render(ctx, 'docs/page.njk', { title: doc.title, doc });
  });
  return router;
}

// The connection kit, published by GLC itself at /docs (discovery's service_documentation).
// Markdown files of docs/ are our own, trusted content. They are rendered at the first visit of
// /docs, not at start-up: loading marked and rendering five documents was ≈ 5 % of a cold start,
// for pages a resident's sign-in never needs.
import Router from '@koa/router';
import { readFile } from 'node:fs/promises';
import { render } from '../http/views.js';
import { projectPath } from '../paths.js';

/** Public documents, in reading order (docs/exploitation.md is for operators and stays internal). */
const PUBLIC_DOCS = ['kit-de-raccordement', 'api-comptes-supprimes', 'consentement', 'fiche-identite', 'franceconnect'] as const;
type DocName = (typeof PUBLIC_DOCS)[number];

interface Doc { name: string; title: string; html: string }

async function loadAll(): Promise<Map<DocName, Doc>> {
  const { marked } = await import('marked');
  const load = async (name: DocName): Promise<Doc> => {
    const markdown = await readFile(projectPath('docs', `${name}.md`), 'utf8');
    const title = /^#\s+(.+)$/m.exec(markdown)?.[1] ?? name;
    // Links between documents point to their published page.
    const html = (marked.parse(markdown, { async: false }) as string)
      .replace(/href="(?:\.\/|docs\/)?([a-z-]+)\.md(#[^"]*)?"/g, (_m, doc: string, hash: string | undefined) => `href="/docs/${doc}${hash ?? ''}"`);
    return { name, title, html };
  };
  return new Map(await Promise.all(PUBLIC_DOCS.map(async (name) => [name, await load(name)] as const)));
}

export function docsRoutes(): Router {
  // One rendering per process, shared by the visits that arrive while it runs; a failed one
  // (a document missing from an image) is tried again at the next visit.
  let docs: Promise<Map<DocName, Doc>> | undefined;
  const loaded = () => {
    docs ??= loadAll().catch((err: unknown) => {
      docs = undefined;
      throw err;
    });
    return docs;
  };
  const router = new Router({ prefix: '/docs' });
  router.get('/', async (ctx) => render(ctx, 'docs/index.njk', { title: 'Documentation pour les services', docs: [...(await loaded()).values()] }));
  router.get('/:name', async (ctx) => {
    const doc = (await loaded()).get(ctx.params.name as DocName);
    if (!doc) return ctx.throw(404);
    render(ctx, 'docs/page.njk', { title: doc.title, doc });
  });
  return router;
}

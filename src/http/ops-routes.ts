// Operations endpoints and static assets.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { schemaState } from '../db/migrate.js';
import type { Services } from '../services.js';
import { projectPath } from '../paths.js';

const css = readFileSync(projectPath('views', 'static', 'glc.css'));

export function opsRoutes(s: Services): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    // Reachable is not enough: a database restored without its schema, or not yet migrated to
    // this version, would answer 500 on every page.
    const schema = s.shuttingDown ? undefined : await schemaState(s.db);
    const ready = schema?.ok === true;
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'unavailable',
      database: schema ? (schema.ok ? 'ok' : schema.reason === 'unreachable' ? 'unreachable' : `schema ${schema.reason}`) : 'shutting down',
    };
  });
  router.get('/static/glc.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  // Service logos are served by GLC, never hot-linked (consent screen, commune branding).
  router.get('/services/:clientId/logo', async (ctx) => {
    const client = await s.clientStore.find(ctx.params.clientId!);
    if (!client?.logo || !client.logo_type) return ctx.throw(404);
    ctx.type = client.logo_type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = client.logo;
  });
  return router;
}

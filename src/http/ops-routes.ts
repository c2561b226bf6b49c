// Operations endpoints and static assets.
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { isDatabaseReachable } from '../db/database.js';
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
    const ready = !s.shuttingDown && (await isDatabaseReachable(s.db));
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', database: ready ? 'ok' : 'unreachable' };
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

// The dev mailbox (never in production): every message GLC "sent", newest first.
import Router from '@koa/router';
import { render } from '../http/views.js';
import type { DevMailbox } from './mailer.js';

export function devMailboxRoutes(mailbox: DevMailbox): Router {
  const router = new Router({ prefix: '/dev/mailbox' });
  router.get('/', (ctx) => {
    if (ctx.accepts('html', 'json') === 'json') {
      ctx.body = mailbox.list();
      return;
    }
    render(ctx, 'dev/mailbox.njk', { title: 'Boîte aux lettres de développement', messages: mailbox.list() });
  });
  return router;
}

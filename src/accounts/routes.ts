// Public account pages outside an authorization: email confirmation.
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';

export function accountRoutes(s: Services): Router {
  const router = pageRouter(s);

  router.get('/inscription/confirmer', async (ctx) => {
    const token = typeof ctx.query.jeton === 'string' ? ctx.query.jeton : '';
    const account = token ? await s.accounts.verifyEmail(token, new Date()) : undefined;
    if (!account) {
      render(
        ctx,
        'errors/generic.njk',
        {
          title: 'Lien expiré ou déjà utilisé',
          message: 'Ce lien de confirmation n’est plus valable. Essayez de vous connecter : un nouveau lien vous sera envoyé.',
        },
        400,
      );
      return;
    }
    // The service is not known here (the link carries no client): counted GLC-wide.
    await s.statistics.count({ kind: 'signup', clientId: null, detail: 'confirmed' }, new Date());
    // Only an interaction id (not a URL) comes back: no open redirect.
    const retour =
      typeof ctx.query.retour === 'string' && /^[A-Za-z0-9_-]{10,64}$/.test(ctx.query.retour)
        ? `/interaction/${ctx.query.retour}`
        : undefined;
    render(ctx, 'accounts/email-verified.njk', { returnTo: retour });
  });

  return router;
}

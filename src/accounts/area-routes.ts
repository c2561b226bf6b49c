// The resident's area: sign-in, sign-out and the home page of /compte.
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import { ACCOUNT_CLIENT_ID, finishAccountSignIn, requireResident, residentSession, startAccountSignIn } from './session.js';

export function accountAreaRoutes(s: Services): Router {
  const router = pageRouter(s, '/compte');

  router.get('/connexion', (ctx) => startAccountSignIn(s, ctx));

  router.get('/callback', (ctx) => {
    if (typeof ctx.query.error === 'string') return ctx.redirect('/compte/au-revoir');
    const returnTo = finishAccountSignIn(ctx);
    if (!returnTo) {
      render(
        ctx,
        'errors/generic.njk',
        {
          title: 'Connexion interrompue',
          message: 'La connexion n’a pas pu être vérifiée (elle a peut-être été ouverte dans un autre onglet). Recommencez.',
          next: { href: '/compte', label: 'Me connecter à mon compte' },
        },
        400,
      );
      return;
    }
    ctx.redirect(returnTo);
  });

  router.get('/au-revoir', (ctx) =>
    render(ctx, 'accounts/goodbye.njk', { title: 'Vous êtes déconnecté', everywhere: ctx.query.partout === '1' }),
  );

  // Sign-out goes through the provider's RP-initiated logout: every service of the session
  // is told (back-channel logout) and the session ends everywhere at once.
  router.post('/deconnexion', async (ctx) => {
    const resident = await residentSession(s, ctx);
    if (!resident) return ctx.redirect('/compte/au-revoir');
    const params = new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, post_logout_redirect_uri: `${s.config.issuer}/compte/au-revoir` });
    ctx.redirect(`/session/end?${params}`);
  });

  router.get('/', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    render(ctx, 'accounts/home.njk', { title: 'Mon compte', account });
  });

  return router;
}

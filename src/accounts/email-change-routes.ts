// Change of email address: /compte/adresse-electronique (recent login required), and the link
// sent to the new address (/compte/adresse-electronique/confirmer, valid without a session).
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import type { SelfService } from './self-service.js';
import { requireRecentLogin, residentSession } from './session.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';

export function emailChangeRoutes(s: Services, self: SelfService): Router {
  const router = pageRouter(s, '/compte/adresse-electronique');

  router.get('/', requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    render(ctx, 'accounts/email.njk', { title: 'Changer mon adresse électronique', account });
  });

  router.post('/', requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    if (!account) return ctx.redirect('/compte/au-revoir');
    const { email } = readForm(ctx, z.object({ email: text }));
    const result = await self.requestEmailChange(account, { email, ip: ctx.ip }, new Date());
    if (!result.ok) {
      if ('reason' in result) {
        render(ctx, 'accounts/email.njk', { title: 'Changer mon adresse électronique', account, email, retryAt: result.retryAt }, 429);
        return;
      }
      render(ctx, 'accounts/email.njk', { title: 'Changer mon adresse électronique', account, email, errors: result.errors }, 400);
      return;
    }
    render(ctx, 'accounts/email-sent.njk', { title: 'Confirmez votre nouvelle adresse', email: result.email, account });
  });

  router.get('/confirmer', async (ctx) => {
    const token = typeof ctx.query.jeton === 'string' ? ctx.query.jeton : '';
    const outcome = token ? await self.confirmEmailChange(token, new Date()) : 'invalid';
    if (outcome === 'changed') {
      render(ctx, 'accounts/email-changed.njk', { title: 'Adresse électronique modifiée' });
      return;
    }
    render(
      ctx,
      'errors/generic.njk',
      outcome === 'taken'
        ? {
            title: 'Adresse déjà utilisée',
            message:
              'Cette adresse est désormais celle d’un autre compte GrandLyon Connect : elle ne peut pas devenir la vôtre. Votre adresse actuelle reste inchangée.',
            next: { href: '/compte/adresse-electronique', label: 'Choisir une autre adresse' },
          }
        : {
            title: 'Lien expiré ou déjà utilisé',
            message:
              'Ce lien de changement d’adresse n’est plus valable (il a expiré, a déjà servi ou est incomplet). Votre adresse actuelle reste inchangée.',
            next: { href: '/compte/adresse-electronique', label: 'Refaire la demande' },
          },
      400,
    );
  });

  return router;
}

// Forgotten password (public pages): /mot-de-passe-oublie asks for the address and always gives
// the same answer; the link (1 hour, once) leads to /mot-de-passe-oublie/nouveau.
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import { RESET_TOKEN_HOURS, type SelfService } from './self-service.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';

const INVALID_LINK = {
  title: 'Lien expiré ou déjà utilisé',
  message: `Ce lien de réinitialisation n’est plus valable : il a déjà servi, il date de plus d’${RESET_TOKEN_HOURS === 1 ? 'une heure' : `${RESET_TOKEN_HOURS} heures`} ou il est incomplet. Demandez un nouveau lien.`,
  next: { href: '/mot-de-passe-oublie', label: 'Recevoir un nouveau lien' },
};

export function passwordResetRoutes(s: Services, self: SelfService): Router {
  const router = pageRouter(s, '/mot-de-passe-oublie');

  router.get('/', (ctx) => render(ctx, 'accounts/forgot.njk', { title: 'Mot de passe oublié' }));

  router.post('/', async (ctx) => {
    const { email } = readForm(ctx, z.object({ email: text }));
    const result = await self.requestPasswordReset({ email, ip: ctx.ip }, new Date());
    if (!result.ok) {
      if ('reason' in result)
        return render(ctx, 'accounts/forgot.njk', { title: 'Mot de passe oublié', email, retryAt: result.retryAt }, 429);
      return render(ctx, 'accounts/forgot.njk', { title: 'Mot de passe oublié', email, errors: result.errors }, 400);
    }
    render(ctx, 'accounts/forgot-sent.njk', { title: 'Vérifiez votre messagerie', validMinutes: RESET_TOKEN_HOURS * 60 });
  });

  router.get('/nouveau', async (ctx) => {
    const token = typeof ctx.query.jeton === 'string' ? ctx.query.jeton : '';
    if (!(await self.isResetLinkValid(token, new Date()))) return render(ctx, 'errors/generic.njk', INVALID_LINK, 400);
    render(ctx, 'accounts/reset.njk', { title: 'Choisir un nouveau mot de passe', token });
  });

  router.post('/nouveau', async (ctx) => {
    const form = readForm(ctx, z.object({ jeton: text, password: text, confirmation: text }));
    const token = form.jeton;
    const result = await self.resetPassword({ token, password: form.password, confirmation: form.confirmation }, new Date());
    if (!result.ok) {
      if ('reason' in result) return render(ctx, 'errors/generic.njk', INVALID_LINK, 400);
      return render(ctx, 'accounts/reset.njk', { title: 'Choisir un nouveau mot de passe', token, errors: result.errors }, 400);
    }
    render(ctx, 'accounts/reset-done.njk', { title: 'Mot de passe modifié' });
  });

  return router;
}

// Data-protection rights: download my data (/compte/mes-donnees) and delete my account
// (/compte/supprimer). Both need a login of less than 10 minutes and a CSRF-checked form.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import type { FieldErrors } from './service.js';
import { exportAccountData } from './export.js';
import type { SelfService } from './self-service.js';
import { requireRecentLogin, residentSession } from './session.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';

export function rightsRoutes(s: Services, self: SelfService): Router {
  const router = pageRouter(s, '/compte');

  router.get('/mes-donnees', requireRecentLogin(s), (ctx) => render(ctx, 'accounts/my-data.njk', { title: 'Télécharger mes données' }));

  // Back from a re-authentication started by the download form.
  router.get('/mes-donnees/telecharger', (ctx) => ctx.redirect('/compte/mes-donnees'));

  router.post('/mes-donnees/telecharger', requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const now = new Date();
    const data = await exportAccountData(s, resident.accountId, now);
    if (!data) return ctx.redirect('/compte/au-revoir');
    await s.accountStore.recordEvent(resident.accountId, 'data_exported');
    s.log.info({ event: 'data_exported', accountId: resident.accountId }, 'account data exported');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Disposition', `attachment; filename="grandlyon-connect-mes-donnees-${now.toISOString().slice(0, 10)}.json"`);
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = JSON.stringify(data, null, 2);
  });

  async function deletePage(ctx: Context, errors: FieldErrors = {}, status = 200, retryAt?: Date) {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    render(
      ctx,
      'accounts/delete.njk',
      { title: 'Supprimer mon compte', hasPassword: Boolean(account?.password_hash), errors, retryAt },
      status,
    );
  }

  router.get('/supprimer', requireRecentLogin(s), (ctx) => deletePage(ctx));

  router.post('/supprimer', requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    if (!account) return ctx.redirect('/compte/au-revoir');
    const form = readForm(ctx, z.object({ password: text, confirm: text }));
    const now = new Date();
    const check = await self.checkDeletion(account, { password: form.password, confirmed: form.confirm === 'oui' }, now);
    if (!check.ok) {
      if ('reason' in check) return deletePage(ctx, {}, 429, check.retryAt);
      return deletePage(ctx, check.errors, 400);
    }
    // The one deletion routine (src/deletion): everything in one transaction, every session
    // ended with back-channel logout, the deleted-accounts records, the confirmation email.
    await s.deletion.deleteAccount(account.id, 'user_request', now);
    s.log.info({ event: 'account_deleted', reason: 'user_request' }, 'account deleted by the resident');
    ctx.status = 303;
    ctx.redirect('/compte/compte-supprime');
  });

  router.get('/compte-supprime', (ctx) => render(ctx, 'accounts/deleted.njk', { title: 'Compte supprimé' }));

  return router;
}

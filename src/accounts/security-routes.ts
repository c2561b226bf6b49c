// Security of the account: activity and sessions (/compte/securite), « me déconnecter partout »,
// password change (/compte/mot-de-passe, recent login required). HTTP only.
import { listSessions } from '../oidc/sessions.js';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import type { FieldErrors } from './service.js';
import type { SelfService } from './self-service.js';
import { describeEvent, describeMethods } from './activity.js';
import { requireRecentLogin, requireResident, residentSession } from './session.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';

export function securityRoutes(s: Services, self: SelfService): Router {
  const router = pageRouter(s, '/compte');

  router.get('/securite', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const [events, sessions, staffEntries] = await Promise.all([
      s.accountStore.listEvents(resident.accountId, 50),
      listSessions(s.db, resident.accountId),
      s.audit.forResident(resident.accountId),
    ]);
    const names = new Map<string, string>();
    const sessionViews = [];
    for (const row of sessions) {
      const p = row.payload;
      const services: string[] = [];
      for (const clientId of Object.keys(p.authorizations ?? {})) {
        if (!names.has(clientId)) names.set(clientId, (await s.clientStore.find(clientId))?.name ?? clientId);
        services.push(names.get(clientId)!);
      }
      sessionViews.push({
        current: p.uid === resident.sessionUid,
        openedAt: p.loginTs ? new Date(p.loginTs * 1000) : undefined,
        method: describeMethods(p.amr ?? []),
        services,
      });
    }
    sessionViews.sort((a, b) => Number(b.current) - Number(a.current) || (b.openedAt?.getTime() ?? 0) - (a.openedAt?.getTime() ?? 0));
    render(ctx, 'accounts/security.njk', {
      title: 'Sécurité et activité du compte',
      events: events.map((e) => ({ at: e.created_at, text: describeEvent(e.type, e.detail as Record<string, unknown>) })),
      sessions: sessionViews,
      staffEntries,
      passwordChanged: ctx.query.mot_de_passe === 'modifie',
    });
  });

  router.post('/securite/deconnexion-partout', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    await self.logOutEverywhere(resident.accountId);
    ctx.status = 303;
    ctx.redirect('/compte/au-revoir?partout=1');
  });

  async function passwordPage(ctx: Context, errors: FieldErrors = {}, status = 200, retryAt?: Date) {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    render(
      ctx,
      'accounts/password.njk',
      { title: 'Changer mon mot de passe', hasPassword: Boolean(account?.password_hash), errors, retryAt },
      status,
    );
  }

  router.get('/mot-de-passe', requireRecentLogin(s), (ctx) => passwordPage(ctx));

  router.post('/mot-de-passe', requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    if (!account) return ctx.redirect('/compte/au-revoir');
    const form = readForm(ctx, z.object({ current: text, password: text, confirmation: text }));
    const result = await self.changePassword(
      account,
      {
        current: form.current,
        password: form.password,
        confirmation: form.confirmation,
        sessionUid: resident.sessionUid,
        ip: ctx.ip,
      },
      new Date(),
    );
    if (!result.ok) {
      if ('reason' in result) return passwordPage(ctx, {}, 429, result.retryAt);
      return passwordPage(ctx, result.errors, 400);
    }
    ctx.status = 303;
    ctx.redirect('/compte/securite?mot_de_passe=modifie');
  });

  return router;
}

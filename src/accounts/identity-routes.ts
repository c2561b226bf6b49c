// The identity sheet page: /compte/identite. HTTP only; the rules are in identity.ts.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import type { Account } from '../db/schema.js';
import { countryOptions, FIELD_LABELS, IDENTITY_FIELDS, identityView, type IdentityForm } from './identity.js';
import { certifiedFields, type SelfService } from './self-service.js';
import { requireResident, residentSession } from './session.js';
import { z } from 'zod';
import { optionalText, readForm } from '../http/forms.js';

export function identityRoutes(s: Services, self: SelfService): Router {
  const router = pageRouter(s, '/compte/identite');

  async function page(ctx: Context, account: Account, extra: Record<string, unknown> = {}, status = 200) {
    const certified = await certifiedFields(s, account.id);
    render(
      ctx,
      'accounts/identity.njk',
      {
        title: 'Ma fiche d’identité',
        account,
        sheet: identityView(account, certified),
        labels: FIELD_LABELS,
        birthCountries: countryOptions({ includeFormer: true }),
        addressCountries: countryOptions({ includeFormer: false }),
        saved: ctx.query.enregistre === '1',
        ...extra,
      },
      status,
    );
  }

  router.get('/', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    if (!account) return ctx.redirect('/compte/au-revoir');
    await page(ctx, account);
  });

  router.post('/', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const account = await s.accountStore.findById(resident.accountId);
    if (!account) return ctx.redirect('/compte/au-revoir');
    const form: IdentityForm = readForm(ctx, z.record(z.string(), optionalText));
    const result = await self.updateIdentity(account, form, new Date());
    if (result.ok) {
      ctx.status = 303;
      return ctx.redirect('/compte/identite?enregistre=1');
    }
    // Show back what was typed, with the errors next to the fields.
    const typed = { ...identityView(account, await certifiedFields(s, account.id)) } as Record<string, unknown>;
    // Every field typed back as it was sent (the birth date has its own three inputs, below).
    for (const key of IDENTITY_FIELDS.filter((f) => f !== 'birthdate')) {
      if (typeof form[key] === 'string' && !(typed.certified as Record<string, boolean>)[key]) typed[key] = form[key];
    }
    if (!(typed.certified as Record<string, boolean>).birthdate) {
      typed.birthdate = {
        ...(typed.birthdate as object),
        day: form.birthdate_day ?? '',
        month: form.birthdate_month ?? '',
        year: form.birthdate_year ?? '',
      };
    }
    await page(ctx, account, { sheet: typed, errors: result.errors, birthplaceChoices: result.birthplaceChoices }, 400);
  });

  return router;
}

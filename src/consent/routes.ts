// HTTP of the consent domain: the consent page of an authorization and « Mes services
// connectés » in the account area. Thin handlers. (Logos are served by http/ops-routes.ts.)
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import { HttpError } from '../http/errors.js';
import { list as listField, readForm, text } from '../http/forms.js';
import { z } from 'zod';
import type { Services } from '../services.js';
import { finishInteraction } from '../interactions/flow.js';
import { requireResident, residentSession } from '../accounts/session.js';
import { CLAIM_LABELS } from '../oidc/claims.js';
import { analyseRequest, type ConsentPlan } from './service.js';

const labels = (claims: string[]) => claims.map((c) => CLAIM_LABELS[c] ?? c);
/** What the page showed; if the request changed meanwhile, the page is shown again. */
const shownKey = (plan: ConsentPlan) => [...plan.newRequired, '|', ...plan.newOptional].join(' ');

async function consentContext(s: Services, details: Interaction) {
  const accountId = details.session!.accountId;
  const clientId = String(details.params.client_id);
  const client = await s.clientStore.find(clientId);
  if (!client) throw new HttpError(400, 'unknown client', { expose: false });
  const request = analyseRequest(client, details.params.scope, details.params.claims);
  const now = new Date();
  const plan = await s.consent.plan(accountId, client, request, now);
  return { details, accountId, client, request, plan, now };
}

async function grantAndFinish(
  s: Services,
  ctx: Context,
  c: Awaited<ReturnType<typeof consentContext>>,
  acceptedOptional: string[],
): Promise<void> {
  const { grantId, plan } = await s.consent.decide(s.provider.Grant, {
    accountId: c.accountId,
    clientId: c.client.client_id,
    request: c.request,
    acceptedOptional,
    now: c.now,
  });
  s.metrics.consentDecision(plan.kind === 'nothing_new' ? 'reused' : plan.kind === 'first' ? 'granted' : 'extended');
  // Only a decision made at the screen counts as « accepted » (a reused consent showed nothing).
  if (plan.kind !== 'nothing_new') {
    await s.statistics.count({ kind: 'consent', clientId: c.client.client_id, detail: 'accepted' }, c.now);
    for (const claim of acceptedOptional)
      await s.statistics.count({ kind: 'consent_optional', clientId: c.client.client_id, detail: claim }, c.now);
  }
  s.log.info(
    {
      event: `consent_${plan.kind === 'nothing_new' ? 'reused' : plan.kind === 'first' ? 'granted' : 'extended'}`,
      clientId: c.client.client_id,
      data: plan.newRequired.length + plan.newOptional.length,
      optionalAccepted: acceptedOptional.length,
    },
    'consent recorded',
  );
  await finishInteraction(s, ctx, { consent: { grantId } }, c.details);
}

async function showConsentPage(
  s: Services,
  ctx: Context,
  view: Record<string, unknown>,
  c: Awaited<ReturnType<typeof consentContext>>,
  status = 200,
  notice?: string,
): Promise<void> {
  const data = await s.consent.describeData(c.accountId, [...c.plan.newRequired, ...c.plan.newOptional]);
  render(
    ctx,
    'consent/consent.njk',
    {
      ...view,
      title: `Autoriser ${c.client.name} à accéder à vos informations`,
      purpose: c.client.purpose,
      kind: c.plan.kind,
      required: data.filter((d) => c.plan.newRequired.includes(d.name)),
      optional: data.filter((d) => c.plan.newOptional.includes(d.name)),
      alreadyConsented: labels(c.plan.alreadyConsented),
      offline: c.request.scopes.includes('offline_access'),
      shown: shownKey(c.plan),
      ttlMonths: Math.round(s.config.consentTtlDays / 30.4),
      notice,
    },
    status,
  );
}

/** GET /interaction/:uid at the consent prompt (called by interactions/routes.ts). */
export async function consentPage(s: Services, ctx: Context, details: Interaction, view: Record<string, unknown>): Promise<void> {
  const c = await consentContext(s, details);
  // Nothing the resident has not already decided: the grant follows the recorded consent.
  if (c.plan.kind === 'nothing_new') return grantAndFinish(s, ctx, c, []);
  await s.statistics.count({ kind: 'consent', clientId: c.client.client_id, detail: 'shown' }, c.now);
  await showConsentPage(s, ctx, view, c);
}

/** POST /interaction/:uid/consent: « Autoriser ». */
export async function consentSubmit(s: Services, ctx: Context, details: Interaction, view: Record<string, unknown>): Promise<void> {
  const c = await consentContext(s, details);
  const form = readForm(ctx, z.object({ shown: text, optional: listField }));
  if (c.plan.kind !== 'nothing_new' && form.shown !== shownKey(c.plan)) {
    return showConsentPage(
      s,
      ctx,
      view,
      c,
      409,
      'La demande du service a changé pendant que vous lisiez cette page. Vérifiez les informations ci-dessous.',
    );
  }
  await grantAndFinish(
    s,
    ctx,
    c,
    form.optional.filter((x) => c.plan.newOptional.includes(x)),
  );
}

export function consentRoutes(s: Services): Router[] {
  const area = pageRouter(s, '/compte/services');
  area.use(requireResident(s));

  area.get('/', async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const rows = await s.consent.listForAccount(resident.accountId);
    const now = Date.now();
    const services = rows.map((r) => {
      const active = r.status === 'active' && r.expires_at.getTime() > now;
      return {
        clientId: r.client_id,
        name: r.name,
        organisation: r.organisation,
        active,
        status: active ? 'active' : r.status === 'withdrawn' ? 'withdrawn' : 'expired',
        data: r.claims.map((c) => ({ name: c, label: CLAIM_LABELS[c] ?? c, optional: r.claims_optional.includes(c) })),
        optionalShared: r.claims.filter((c) => r.claims_optional.includes(c)).map((c) => ({ name: c, label: CLAIM_LABELS[c] ?? c })),
        declined: labels(r.declined),
        grantedAt: r.granted_at,
        lastUsedAt: r.last_used_at,
        expiresAt: r.expires_at,
        endedAt: r.ended_at,
      };
    });
    const done = typeof ctx.query.fait === 'string' ? ctx.query.fait : undefined;
    const doneService = typeof ctx.query.service === 'string' ? rows.find((r) => r.client_id === ctx.query.service)?.name : undefined;
    render(ctx, 'consent/services.njk', {
      title: 'Mes services connectés',
      active: services.filter((x) => x.active),
      ended: services.filter((x) => !x.active),
      done,
      doneService,
    });
  });

  area.post('/:clientId/retrait', async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const clientId = ctx.params.clientId ?? '';
    const done = await s.consent.withdraw(resident.accountId, clientId, new Date());
    if (done) s.log.info({ event: 'consent_withdrawn', clientId }, 'consent withdrawn by the resident');
    ctx.status = 303;
    ctx.redirect(`/compte/services?${new URLSearchParams({ fait: done ? 'retrait' : 'rien', service: clientId })}`);
  });

  area.post('/:clientId/donnees', async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const clientId = ctx.params.clientId ?? '';
    const form = readForm(ctx, z.object({ keep: listField }));
    const rows = await s.consent.listForAccount(resident.accountId);
    const row = rows.find((r) => r.client_id === clientId && r.status === 'active');
    // The form lists the optional data shared; the unticked ones are withdrawn.
    const kept = new Set(form.keep);
    const untick = row ? row.claims.filter((c) => row.claims_optional.includes(c) && !kept.has(c)) : [];
    const removed = untick.length ? await s.consent.withdrawClaims(resident.accountId, clientId, untick, new Date()) : [];
    if (removed.length)
      s.log.info({ event: 'consent_partially_withdrawn', clientId, data: removed.length }, 'consent partially withdrawn by the resident');
    ctx.status = 303;
    ctx.redirect(`/compte/services?${new URLSearchParams({ fait: removed.length ? 'partiel' : 'rien', service: clientId })}`);
  });

  return [area];
}

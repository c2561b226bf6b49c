// The pages of an authorization in progress: login, sign-up, consent, cancel.
// Thin handlers: the rules live in accounts/service.ts and consent/.
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import type { Context } from 'koa';
import type { Interaction, InteractionResults } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../accounts/session.js';
import { render } from '../http/views.js';
import { allowFormTargets } from '../http/middleware.js';
import type { Services } from '../services.js';
import { CLAIM_LABELS, claimsOfScopes } from '../oidc/claims.js';

type Form = Record<string, string | undefined>;
const form = (ctx: Context): Form => (ctx.request.body ?? {}) as Form;

/** What every interaction page shows about the service that sent the resident here. */
export async function interactionView(s: Services, ctx: Context) {
  const details = await s.provider.interactionDetails(ctx.req, ctx.res);
  // Forms of this interaction end, after redirects, on the service's redirect URI.
  allowFormTargets(ctx, [details.params.redirect_uri as string | undefined]);
  const clientId = String(details.params.client_id);
  const client = await s.clientStore.find(clientId);
  return {
    details,
    view: {
      uid: details.uid,
      client: client && { id: client.client_id, name: client.name, organisation: client.organisation, hasLogo: client.logo !== null },
      franceConnectEnabled: s.franceConnectEnabled === true,
    },
  };
}

/** Ends the interaction and sends the browser back to the provider. */
export async function finishInteraction(s: Services, ctx: Context, result: InteractionResults): Promise<void> {
  const returnTo = await s.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/** Grants everything the request asks for (first-party client, or before the consent domain exists). */
async function grantAll(s: Services, ctx: Context, details: Interaction): Promise<void> {
  const grant = details.grantId
    ? (await s.provider.Grant.find(details.grantId))!
    : new s.provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
  if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
  const grantId = await grant.save();
  await finishInteraction(s, ctx, { consent: { grantId } });
}

export function interactionRoutes(s: Services): Router {
  const router = pageRouter(s, '/interaction/:uid');

  router.get('/', async (ctx) => {
    const { details, view } = await interactionView(s, ctx);
    if (details.prompt.name === 'login') {
      render(ctx, 'interactions/login.njk', { ...view, email: details.lastSubmission?.login ? undefined : '' });
      return;
    }
    if (details.prompt.name === 'consent') {
      // The resident's own area shares no data with anyone: nothing to consent to.
      if (details.params.client_id === ACCOUNT_CLIENT_ID) return grantAll(s, ctx, details);
      if (s.consentPage) return s.consentPage(ctx, details, view);
      const scopes = String(details.params.scope ?? '').split(' ');
      const claims = [...claimsOfScopes(scopes)].filter((c) => c in CLAIM_LABELS).map((c) => ({ name: c, label: CLAIM_LABELS[c] }));
      render(ctx, 'interactions/consent.njk', { ...view, claims });
      return;
    }
    ctx.throw(400, 'unknown prompt');
  });

  router.post('/login', async (ctx) => {
    const { view } = await interactionView(s, ctx);
    const { email = '', password = '' } = form(ctx);
    const result = await s.accounts.logIn({ email, password, ip: ctx.ip }, new Date());
    s.metrics.login('password', result.ok ? 'success' : result.reason);
    if (!result.ok) {
      const message = {
        invalid: 'Adresse électronique ou mot de passe incorrect.',
        blocked: 'Trop de tentatives de connexion. Pour protéger votre compte, réessayez plus tard.',
        unverified: 'Votre adresse électronique n’est pas encore confirmée. Nous venons de vous renvoyer le lien de confirmation.',
      }[result.reason];
      if (result.reason === 'unverified') await s.accounts.sendVerification(result.account, new Date(), view.uid);
      render(ctx, 'interactions/login.njk', {
        ...view, email, error: message,
        retryAt: result.reason === 'blocked' ? result.until : undefined,
      }, result.reason === 'blocked' ? 429 : 401);
      return;
    }
    await finishInteraction(s, ctx, { login: { accountId: result.account.id, amr: ['pwd'] } });
  });

  router.get('/inscription', async (ctx) => {
    const { view } = await interactionView(s, ctx);
    render(ctx, 'interactions/signup.njk', view);
  });

  router.post('/inscription', async (ctx) => {
    const { view } = await interactionView(s, ctx);
    const { email = '', password = '', passwordConfirmation = '' } = form(ctx);
    const result = await s.accounts.signUp({ email, password, passwordConfirmation, ip: ctx.ip }, new Date(), view.uid);
    if (!result.ok) {
      render(ctx, 'interactions/signup.njk', { ...view, email, errors: result.errors }, result.retryAt ? 429 : 400);
      return;
    }
    render(ctx, 'interactions/check-mailbox.njk', { ...view, email });
  });

  router.post('/consent', async (ctx) => {
    const { details } = await interactionView(s, ctx);
    if (details.prompt.name !== 'consent' || !details.session?.accountId) return ctx.throw(400, 'no consent expected');
    if (s.consentSubmit && details.params.client_id !== ACCOUNT_CLIENT_ID) return s.consentSubmit(ctx, details);
    await grantAll(s, ctx, details);
  });

  // « Annuler » / « Refuser »: the service receives access_denied.
  router.post('/abort', async (ctx) => {
    s.metrics.consentDecision('cancelled');
    await finishInteraction(s, ctx, { error: 'access_denied', error_description: 'the resident cancelled' });
  });

  return router;
}

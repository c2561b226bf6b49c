// The pages of an authorization in progress: login, sign-up, consent, cancel.
// Thin handlers: the rules live in accounts/service.ts and consent/.
import type Router from '@koa/router';
import { pageRouter } from '../http/page-router.js';
import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../accounts/account-client.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import { consentPage, consentSubmit } from '../consent/routes.js';
import { finishInteraction, interactionView } from './flow.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';

const loginForm = z.object({ email: text, password: text });
const signUpForm = z.object({ email: text, password: text, passwordConfirmation: text });

/** Grants everything the request asks for: GLC's own account area, which shares nothing. */
async function grantAll(s: Services, ctx: Context, details: Interaction): Promise<void> {
  const grant = details.grantId
    ? (await s.provider.Grant.find(details.grantId))!
    : new s.provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
  if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
  if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
  const grantId = await grant.save();
  await finishInteraction(s, ctx, { consent: { grantId } }, details);
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
      return consentPage(s, ctx, details, view);
    }
    ctx.throw(400, 'unknown prompt');
  });

  router.post('/login', async (ctx) => {
    const { details, view } = await interactionView(s, ctx);
    const { email, password } = readForm(ctx, loginForm);
    const result = await s.accounts.logIn({ email, password, ip: ctx.ip }, new Date());
    s.metrics.login('password', result.ok ? 'success' : result.reason);
    const clientId = String(details.params.client_id);
    await s.statistics.count(
      result.ok ? { kind: 'login', clientId, detail: 'password' } : { kind: 'login_failed', clientId, detail: result.reason },
      new Date(),
    );
    if (!result.ok) {
      const message = {
        invalid: 'Adresse électronique ou mot de passe incorrect.',
        blocked: 'Trop de tentatives de connexion. Pour protéger votre compte, réessayez plus tard.',
        unverified: 'Votre adresse électronique n’est pas encore confirmée. Nous venons de vous renvoyer le lien de confirmation.',
      }[result.reason];
      if (result.reason === 'unverified') await s.accounts.sendVerification(result.account, new Date(), view.uid);
      render(
        ctx,
        'interactions/login.njk',
        {
          ...view,
          email,
          error: message,
          retryAt: result.reason === 'blocked' ? result.until : undefined,
        },
        result.reason === 'blocked' ? 429 : 401,
      );
      return;
    }
    await finishInteraction(s, ctx, { login: { accountId: result.account.id, amr: ['pwd'] } }, details);
  });

  router.get('/inscription', async (ctx) => {
    const { view } = await interactionView(s, ctx);
    render(ctx, 'interactions/signup.njk', view);
  });

  router.post('/inscription', async (ctx) => {
    const { details, view } = await interactionView(s, ctx);
    const { email, password, passwordConfirmation } = readForm(ctx, signUpForm);
    const result = await s.accounts.signUp({ email, password, passwordConfirmation, ip: ctx.ip }, new Date(), view.uid);
    if (!result.ok) {
      render(ctx, 'interactions/signup.njk', { ...view, email, errors: result.errors }, result.retryAt ? 429 : 400);
      return;
    }
    await s.statistics.count({ kind: 'signup', clientId: String(details.params.client_id), detail: 'started' }, new Date());
    render(ctx, 'interactions/check-mailbox.njk', { ...view, email });
  });

  router.post('/consent', async (ctx) => {
    const { details, view } = await interactionView(s, ctx);
    if (details.prompt.name !== 'consent' || !details.session?.accountId) return ctx.throw(400, 'no consent expected');
    if (details.params.client_id === ACCOUNT_CLIENT_ID) return grantAll(s, ctx, details);
    return consentSubmit(s, ctx, details, view);
  });

  // « Annuler » / « Refuser »: the service receives access_denied.
  router.post('/abort', async (ctx) => {
    s.metrics.consentDecision('cancelled');
    // A refusal is counted when it is made at the consent screen (not a cancelled login).
    const details = await s.provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (details?.prompt.name === 'consent' && details.params.client_id !== ACCOUNT_CLIENT_ID) {
      await s.statistics.count({ kind: 'consent', clientId: String(details.params.client_id), detail: 'refused' }, new Date());
    }
    await finishInteraction(s, ctx, { error: 'access_denied', error_description: 'the resident cancelled' }, details);
  });

  return router;
}

import type Koa from 'koa';

import type { PageErrorReason } from './authorize-request.js';
import type { MockDeps } from './context.js';
import { isErrorIdentity } from './identities.js';
import { sendHtml } from './http.js';
import type { Interaction } from './store.js';

/** Reasons for an error page beyond /authorize's: each has its French text in error.njk. */
export type ErrorReason =
  | PageErrorReason
  | 'interaction_unknown'
  | 'interaction_foreign'
  | 'csrf'
  | 'logout_invalid_hint'
  | 'logout_unregistered_redirect_uri'
  | 'logout_client_mismatch'
  | 'not_found'
  | 'method_not_allowed'
  | 'bad_request'
  | 'server_error';

/**
 * FranceConnect's error code for a refused request. The mock uses this one code for every
 * refusal and tells the developer which rule failed in the page itself.
 */
const FC_ERROR_CODE = 'Y030007';

export function renderErrorPage(ctx: Koa.Context, deps: MockDeps, status: number, reason: ErrorReason, parameter?: string): void {
  const html = deps.views.render('error.njk', {
    ...layoutData(deps),
    status,
    code: status >= 500 ? null : FC_ERROR_CODE,
    reason,
    parameter,
  });
  sendHtml(ctx, status, html);
}

export type LoginError = 'bad_credentials' | 'missing_fields';

export function renderLoginPage(
  ctx: Koa.Context,
  deps: MockDeps,
  interactionId: string,
  interaction: Interaction,
  form: { error?: LoginError; login?: string } = {},
): void {
  const action = `${deps.prefix}/interaction/${encodeURIComponent(interactionId)}`;
  const identities = [...deps.identities.values()].map((identity) =>
    isErrorIdentity(identity)
      ? { login: identity.login, error: identity.error }
      : { login: identity.login, name: `${identity.given_name} ${identity.family_name}` },
  );
  const html = deps.views.render('login.njk', {
    ...layoutData(deps),
    loginAction: `${action}/login`,
    cancelAction: `${action}/cancel`,
    csrfToken: interaction.csrfToken,
    clientId: interaction.request.clientId,
    identities,
    error: form.error,
    login: form.login ?? '',
  });
  // After the login form, the browser is redirected to the service: allow its origin.
  sendHtml(ctx, form.error ? 401 : 200, html, [new URL(interaction.request.redirectUri).origin]);
}

function layoutData(deps: MockDeps): Record<string, string> {
  return { stylesheet: `${deps.prefix}/assets/mock.css` };
}

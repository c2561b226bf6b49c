import { compactVerify, decodeJwt } from 'jose';
import type Koa from 'koa';

import { endSsoSession } from './browser-session.js';
import type { MockDeps } from './context.js';
import { redirectTo } from './http.js';
import { renderErrorPage, type ErrorReason } from './pages.js';
import { checkParameterNames } from './request-parameters.js';
import type { FcMockClient } from './types.js';

const ALLOWED_PARAMETERS = new Set([
  'id_token_hint',
  'post_logout_redirect_uri',
  'state',
  // openid-client adds client_id to every logout URL; FranceConnect accepts it.
  'client_id',
  'logout_hint',
  'ui_locales',
]);

const REQUIRED_PARAMETERS = ['id_token_hint', 'post_logout_redirect_uri', 'state'];

type LogoutCheck = { ok: true; redirectUri: string; state: string } | { ok: false; reason: ErrorReason; parameter?: string };

/**
 * GET /session/end: ends the mock's SSO session and sends the browser back to the service.
 * Anything doubtful keeps the browser on an error page, as FranceConnect does.
 */
export async function endSession(ctx: Koa.Context, deps: MockDeps): Promise<void> {
  const check = await checkLogoutRequest(new URLSearchParams(ctx.querystring), deps);
  if (!check.ok) return renderErrorPage(ctx, deps, 400, check.reason, check.parameter);
  endSsoSession(ctx, deps);
  redirectTo(ctx, check.redirectUri, { state: check.state });
}

async function checkLogoutRequest(params: URLSearchParams, deps: MockDeps): Promise<LogoutCheck> {
  const shapeError = checkParameterNames(params, ALLOWED_PARAMETERS, REQUIRED_PARAMETERS);
  if (shapeError) return { ok: false, reason: shapeError.reason, parameter: shapeError.parameter };
  const client = await clientOfIdToken(params.get('id_token_hint') ?? '', deps);
  if (!client) return { ok: false, reason: 'logout_invalid_hint' };
  const clientId = params.get('client_id');
  if (clientId !== null && clientId !== client.clientId) return { ok: false, reason: 'logout_client_mismatch' };
  const redirectUri = params.get('post_logout_redirect_uri') ?? '';
  if (!client.postLogoutRedirectUris.includes(redirectUri)) {
    return { ok: false, reason: 'logout_unregistered_redirect_uri' };
  }
  return { ok: true, redirectUri, state: params.get('state') ?? '' };
}

/**
 * The client an ID token of this mock was issued to. The signature and issuer are checked;
 * expiry is not, since a resident logs out long after the ID token's 60 seconds.
 */
async function clientOfIdToken(idToken: string, deps: MockDeps): Promise<FcMockClient | undefined> {
  try {
    await compactVerify(idToken, deps.keys.verificationKeySet(), { algorithms: [deps.keys.current.alg] });
    const { iss, aud } = decodeJwt(idToken);
    if (iss !== deps.issuer || typeof aud !== 'string') return undefined;
    return deps.clients.get(aud);
  } catch {
    return undefined;
  }
}

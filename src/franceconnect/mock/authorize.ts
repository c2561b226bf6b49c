import type Koa from 'koa';

import { checkAuthorizeRequest } from './authorize-request.js';
import { browserIdOf, ensureBrowserId, liveSsoSession, startSsoSession } from './browser-session.js';
import type { MockDeps } from './context.js';
import { readForm, redirectTo } from './http.js';
import { isErrorIdentity, type FcIdentity } from './identities.js';
import { renderErrorPage, renderLoginPage } from './pages.js';
import { randomToken, sameSecret } from './secrets.js';
import { LIFETIMES, type AuthorizationRequest, type Interaction } from './store.js';

/** FranceConnect's error_description texts; services must branch on `error`, never on these. */
const ERROR_DESCRIPTIONS: Record<string, string> = {
  access_denied: 'user authentication aborted',
  server_error: 'authentication aborted due to a technical error on the authorization server',
  temporarily_unavailable: 'the authorization server is temporarily unavailable',
};

/** Every answer to the service carries `iss` (RFC 9207) and the service's `state`. */
function redirectWithError(
  ctx: Koa.Context,
  deps: MockDeps,
  request: Pick<AuthorizationRequest, 'redirectUri' | 'state'>,
  error: string,
  description?: string,
): void {
  redirectTo(ctx, request.redirectUri, {
    error,
    error_description: description ?? ERROR_DESCRIPTIONS[error] ?? 'authentication aborted',
    state: request.state,
    iss: deps.issuer,
  });
}

function redirectWithCode(ctx: Koa.Context, deps: MockDeps, request: AuthorizationRequest, login: string, authTime: number): void {
  const code = randomToken();
  deps.store.codes.set(code, {
    request,
    login,
    authTime,
    expiresAt: deps.now() + LIFETIMES.code,
    used: false,
    accessTokens: [],
  });
  redirectTo(ctx, request.redirectUri, { code, state: request.state, iss: deps.issuer });
}

/** GET /authorize */
export function authorize(ctx: Koa.Context, deps: MockDeps): void {
  const outcome = checkAuthorizeRequest(new URLSearchParams(ctx.querystring), deps.clients);
  if (outcome.kind === 'page') return renderErrorPage(ctx, deps, 400, outcome.reason, outcome.parameter);
  if (outcome.kind === 'redirect') return redirectWithError(ctx, deps, outcome, outcome.error, outcome.description);

  const { request } = outcome;
  if (deps.faults.authorizeError) return redirectWithError(ctx, deps, request, deps.faults.authorizeError);

  // FranceConnect's silent re-login: a live SSO session answers at once unless prompt=login.
  const session = liveSsoSession(ctx, deps);
  if (session && !request.forceLogin) return redirectWithCode(ctx, deps, request, session.login, session.authTime);

  const id = randomToken();
  deps.store.interactions.set(id, {
    request,
    browserId: ensureBrowserId(ctx, deps),
    csrfToken: randomToken(),
    expiresAt: deps.now() + LIFETIMES.interaction,
  });
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(`${deps.prefix}/interaction/${id}`);
}

/**
 * The pending login of this browser, or undefined after an error page was sent: unknown or
 * expired id, or a login started in another browser (a login CSRF attempt).
 */
function findInteraction(ctx: Koa.Context, deps: MockDeps, id: string): Interaction | undefined {
  const interaction = deps.store.interactions.get(id);
  if (!interaction || interaction.expiresAt <= deps.now()) {
    renderErrorPage(ctx, deps, 400, 'interaction_unknown');
    return undefined;
  }
  if (interaction.browserId !== browserIdOf(ctx)) {
    renderErrorPage(ctx, deps, 400, 'interaction_foreign');
    return undefined;
  }
  return interaction;
}

/** The interaction a form was posted for, once its CSRF token matched. */
async function findPostedInteraction(
  ctx: Koa.Context,
  deps: MockDeps,
  id: string,
): Promise<{ interaction: Interaction; form: URLSearchParams } | undefined> {
  const interaction = findInteraction(ctx, deps, id);
  if (!interaction) return undefined;
  const form = await readForm(ctx);
  if (!sameSecret(form.get('csrf_token') ?? '', interaction.csrfToken)) {
    renderErrorPage(ctx, deps, 400, 'csrf');
    return undefined;
  }
  return { interaction, form };
}

/** GET /interaction/:id */
export function showLogin(ctx: Koa.Context, deps: MockDeps, id: string): void {
  const interaction = findInteraction(ctx, deps, id);
  if (interaction) renderLoginPage(ctx, deps, id, interaction);
}

/** POST /interaction/:id/login: typed login and password, or a test identity picked from the list. */
export async function submitLogin(ctx: Koa.Context, deps: MockDeps, id: string): Promise<void> {
  const posted = await findPostedInteraction(ctx, deps, id);
  if (!posted) return;
  const { interaction, form } = posted;
  const picked = form.get('pick');
  const login = (form.get('login') ?? '').trim();
  const password = form.get('password') ?? '';
  if (!picked && (!login || !password)) {
    return renderLoginPage(ctx, deps, id, interaction, { error: 'missing_fields', login });
  }

  const identity = picked ? deps.identities.get(picked) : authenticate(deps, login, password);
  if (!identity) return renderLoginPage(ctx, deps, id, interaction, { error: 'bad_credentials', login });

  deps.store.interactions.delete(id);
  completeLogin(ctx, deps, interaction.request, identity);
}

function completeLogin(ctx: Koa.Context, deps: MockDeps, request: AuthorizationRequest, identity: FcIdentity): void {
  // Error scenarios (e.g. unknown to the INSEE register) answer the service without a session.
  if (isErrorIdentity(identity)) return redirectWithError(ctx, deps, request, identity.error);
  const session = startSsoSession(ctx, deps, identity.login);
  redirectWithCode(ctx, deps, request, identity.login, session.authTime);
}

function authenticate(deps: MockDeps, login: string, password: string): FcIdentity | undefined {
  const identity = deps.identities.get(login);
  return identity && sameSecret(password, identity.password) ? identity : undefined;
}

/** POST /interaction/:id/cancel: the resident gives up, the service gets access_denied. */
export async function cancelLogin(ctx: Koa.Context, deps: MockDeps, id: string): Promise<void> {
  const posted = await findPostedInteraction(ctx, deps, id);
  if (!posted) return;
  deps.store.interactions.delete(id);
  redirectWithError(ctx, deps, posted.interaction.request, 'access_denied');
}

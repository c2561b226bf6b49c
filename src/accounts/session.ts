// The resident's own area (/compte) is a first-party OpenID client of GLC: signing in to it
// goes through the same login pages (password, FranceConnect) and the same provider session
// as any service, so one session serves both and one logout ends both.
import type { Context, Next } from 'koa';
import * as oidc from 'openid-client';
import { randomToken } from '../secrets.js';
import type { Services } from '../services.js';

import { ACCOUNT_CLIENT_ID } from './account-client.js';

export { ACCOUNT_CLIENT_ID };
const PENDING_COOKIE = 'glc.compte.pending';
/** Sensitive actions (email, password, export, deletion) need a login of less than 10 minutes. */
export const RECENT_AUTH_SECONDS = 600;

export interface ResidentSession {
  accountId: string;
  authTime: number;
  amr: string[];
  sessionUid: string;
}

export async function ensureAccountClient(s: Services): Promise<void> {
  if (await s.clientStore.find(ACCOUNT_CLIENT_ID)) return;
  await s.clientStore
    .insert({
      clientId: ACCOUNT_CLIENT_ID,
      name: 'Mon compte GrandLyon Connect',
      organisation: 'Métropole de Lyon',
      metadata: {
        redirect_uris: [`${s.config.issuer}/compte/callback`],
        post_logout_redirect_uris: [`${s.config.issuer}/compte/au-revoir`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        scope: 'openid',
        token_endpoint_auth_method: 'none',
        subject_type: 'public',
      },
      secret: null,
      logo: null,
      claimsRequired: [],
      claimsOptional: [],
      purpose: null,
    })
    .catch(async (err: unknown) => {
      // Two instances starting together: the other one inserted it.
      if (!(await s.clientStore.find(ACCOUNT_CLIENT_ID))) throw err;
    });
}

export async function residentSession(s: Services, ctx: Context): Promise<ResidentSession | undefined> {
  if (ctx.state.resident !== undefined) return ctx.state.resident as ResidentSession | undefined;
  const session = await s.provider.Session.get(ctx as never);
  const resident = session.accountId
    ? {
        accountId: session.accountId,
        authTime: session.authTime() ?? 0,
        amr: (session.amr as string[] | undefined) ?? [],
        sessionUid: session.uid,
      }
    : undefined;
  ctx.state.resident = resident;
  return resident;
}

/** Where to go to sign in to the account area and come back to `returnTo` (a local path only). */
export function signInUrl(returnTo: string, options: { forceLogin?: boolean } = {}): string {
  const params = new URLSearchParams({ retour: safeLocalPath(returnTo) });
  if (options.forceLogin) params.set('reauth', '1');
  return `/compte/connexion?${params}`;
}

// A return path travels in a Location header: one of 16 kB (a page asked with a long query) would
// be refused by the reverse proxy (nginx: 4–8 kB of headers by default) or the resident's client.
export const MAX_RETURN_PATH = 2_000;

export function safeLocalPath(path: string | undefined): string {
  return path && path.length <= MAX_RETURN_PATH && /^\/[A-Za-z0-9/_\-.?=&%]*$/.test(path) && !path.startsWith('//') ? path : '/compte';
}

/** Middleware: the page needs a signed-in resident. */
export function requireResident(s: Services) {
  return async (ctx: Context, next: Next) => {
    const resident = await residentSession(s, ctx);
    if (!resident) return ctx.redirect(signInUrl(ctx.originalUrl));
    await s.accountStore.touchActivity(resident.accountId, new Date());
    await next();
  };
}

/** Middleware: the action needs a login of less than 10 minutes (re-authentication otherwise). */
export function requireRecentLogin(s: Services, maxAgeSeconds = RECENT_AUTH_SECONDS) {
  return async (ctx: Context, next: Next) => {
    const resident = await residentSession(s, ctx);
    const now = Math.floor(Date.now() / 1000);
    if (!resident) return ctx.redirect(signInUrl(ctx.originalUrl));
    if (now - resident.authTime > maxAgeSeconds) {
      // After a POST, back to the page of the same path (pages send no Referer: no-referrer).
      const back = ctx.method === 'GET' ? ctx.originalUrl : ctx.path;
      return ctx.redirect(signInUrl(back, { forceLogin: true }));
    }
    await next();
  };
}

/** Starts the first-party authorization (PKCE + state in a short signed cookie). */
export async function startAccountSignIn(s: Services, ctx: Context): Promise<void> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = randomToken();
  const returnTo = safeLocalPath(typeof ctx.query.retour === 'string' ? ctx.query.retour : undefined);
  ctx.cookies.set(PENDING_COOKIE, JSON.stringify({ state, returnTo }), {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    maxAge: 3600_000,
    path: '/compte',
  });
  const params = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: `${s.config.issuer}/compte/callback`,
    scope: 'openid',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  if (ctx.query.reauth === '1') {
    params.set('prompt', 'login');
    params.set('max_age', String(RECENT_AUTH_SECONDS));
  }
  ctx.redirect(`/auth?${params}`);
}

/** Back from the provider: the session cookie is set; the state proves this browser started it. */
export function finishAccountSignIn(ctx: Context): string | undefined {
  let pending: { state?: string; returnTo?: string } = {};
  try {
    pending = JSON.parse(ctx.cookies.get(PENDING_COOKIE, { signed: true }) ?? '{}') as typeof pending;
  } catch {
    /* treated as missing */
  }
  ctx.cookies.set(PENDING_COOKIE, null, { path: '/compte' });
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  if (!pending.state || pending.state !== state || typeof ctx.query.code !== 'string') return undefined;
  return safeLocalPath(pending.returnTo);
}

import type Koa from 'koa';

import type { MockDeps } from './context.js';
import { randomToken } from './secrets.js';
import { LIFETIMES, type SsoSession } from './store.js';

/**
 * One cookie identifies the browser to the mock: it binds a pending login to the browser that
 * started it, and carries FranceConnect's 30-minute SSO session (server-side, keyed by it).
 */
const COOKIE = 'fc_mock_session';

function cookieOptions(ctx: Koa.Context, deps: MockDeps) {
  // Lax: the cookie must come along when a service sends the browser to /authorize.
  return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, path: deps.prefix || '/', overwrite: true };
}

export function browserIdOf(ctx: Koa.Context): string | undefined {
  return ctx.cookies.get(COOKIE) || undefined;
}

/** The browser id, created (and set as cookie) on the first visit. */
export function ensureBrowserId(ctx: Koa.Context, deps: MockDeps): string {
  const existing = browserIdOf(ctx);
  if (existing) return existing;
  const browserId = randomToken();
  ctx.cookies.set(COOKIE, browserId, cookieOptions(ctx, deps));
  return browserId;
}

export function liveSsoSession(ctx: Koa.Context, deps: MockDeps): SsoSession | undefined {
  const browserId = browserIdOf(ctx);
  const session = browserId ? deps.store.sessions.get(browserId) : undefined;
  return session && session.expiresAt > deps.now() ? session : undefined;
}

/** After a login: a fresh browser id (no fixation of a pre-login id) holding the SSO session. */
export function startSsoSession(ctx: Koa.Context, deps: MockDeps, login: string): SsoSession {
  endSsoSession(ctx, deps);
  const browserId = randomToken();
  const now = deps.now();
  const session = { login, authTime: now, expiresAt: now + LIFETIMES.ssoSession };
  deps.store.sessions.set(browserId, session);
  ctx.cookies.set(COOKIE, browserId, cookieOptions(ctx, deps));
  return session;
}

export function endSsoSession(ctx: Koa.Context, deps: MockDeps): void {
  const browserId = browserIdOf(ctx);
  if (browserId) deps.store.sessions.delete(browserId);
  ctx.cookies.set(COOKIE, '', { ...cookieOptions(ctx, deps), maxAge: 0 });
}

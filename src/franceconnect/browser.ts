// A random id binding FranceConnect round trips (and the FC session, for logout) to this
// browser. Only its HMAC is stored.
import type { Context } from 'koa';
import { randomToken, type Secrets } from '../secrets.js';
import { FC_SESSION_TTL_MS } from './pending.js';

export const BROWSER_COOKIE = 'glc.fc';

export function browserHashOf(secrets: Pick<Secrets, 'hmac'>, value: string | undefined): string {
  return value && /^[A-Za-z0-9_-]{43}$/.test(value) ? secrets.hmac('fc-browser', value) : 'none';
}

/** The browser's id, set now if it has none. */
export function ensureBrowser(secrets: Pick<Secrets, 'hmac'>, ctx: Context): string {
  let value = ctx.cookies.get(BROWSER_COOKIE);
  if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
    value = randomToken();
    ctx.cookies.set(BROWSER_COOKIE, value, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: FC_SESSION_TTL_MS, overwrite: true });
  }
  return browserHashOf(secrets, value);
}

export const browserOf = (secrets: Pick<Secrets, 'hmac'>, ctx: Context): string => browserHashOf(secrets, ctx.cookies.get(BROWSER_COOKIE));

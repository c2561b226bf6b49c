// CSRF protection for GLC's own forms: a random per-browser cookie and, in each form, a
// keyed hash of it. A cross-site page can neither read the cookie nor compute the hash.
import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { randomToken, type Secrets } from '../secrets.js';

const COOKIE = 'glc.csrf';

export function csrfProtection(secrets: Secrets) {
  const tokenFor = (cookie: string) => secrets.hmac('csrf', cookie);
  return async (ctx: Context, next: Next) => {
    let cookie = ctx.cookies.get(COOKIE);
    if (!cookie || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) {
      cookie = randomToken();
      ctx.cookies.set(COOKIE, cookie, { httpOnly: true, sameSite: 'lax', signed: false, overwrite: true });
    }
    ctx.state.csrfToken = tokenFor(cookie);
    if (ctx.method === 'POST') {
      const sent = (ctx.request.body as Record<string, unknown> | undefined)?._csrf;
      const expected = Buffer.from(ctx.state.csrfToken as string);
      if (typeof sent !== 'string' || sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), expected)) {
        ctx.throw(403, 'csrf', { expose: true, code: 'csrf' });
      }
    }
    await next();
  };
}

// Control characters (NUL, ESC, …) have no place in anything a resident types or a service
// sends, and PostgreSQL refuses NUL in text (error 22021 → a 500). They are refused at the edge:
// path and query of every request, parsed bodies of GLC's forms and JSON APIs; the provider's own
// bodies are guarded where their values reach the database (src/oidc/adapter.ts).
// Tab, line feed and carriage return stay allowed (a multi-line message).
import type { Context, Next } from 'koa';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

// Runs on every request's query and every provider lookup: walks the values without copying them.
export function hasControlCharacters(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return CONTROL.test(value);
  if (depth > 20 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasControlCharacters(item, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (CONTROL.test(key) || hasControlCharacters((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** 400 with the standard OAuth error code; the error handler turns it into a French page or JSON. */
function refuse(ctx: Context): never {
  return ctx.throw(400, 'control characters are not allowed', { expose: true, error: 'invalid_request', code: 'control_characters' });
}

/** Path and query string of every request, before any route or the provider sees them. */
export function refuseControlCharactersInUrl() {
  return async (ctx: Context, next: Next) => {
    let path: string;
    try {
      path = decodeURIComponent(ctx.path);
    } catch {
      return ctx.throw(400, 'malformed path', { expose: true, error: 'invalid_request' });
    }
    if (CONTROL.test(path) || hasControlCharacters(ctx.query)) refuse(ctx);
    await next();
  };
}

/** Form fields that are lists by design (groups of checkboxes); every other field is one value. */
const MULTI_VALUED_FIELDS = new Set(['optional', 'keep']);

/**
 * After the form parser of GLC's pages: control characters, and a field sent twice that is not a
 * list (`email=a&email=b` would reach the services as an array).
 */
export function checkFormBody() {
  return async (ctx: Context, next: Next) => {
    const body = ctx.request.body as Record<string, unknown> | undefined;
    if (hasControlCharacters(body)) refuse(ctx);
    if (body && typeof body === 'object' && Object.entries(body).some(([k, v]) => Array.isArray(v) && !MULTI_VALUED_FIELDS.has(k))) {
      ctx.throw(400, 'a form field was sent more than once', { expose: true, error: 'invalid_request', code: 'duplicate_field' });
    }
    await next();
  };
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):?(\d{2})))?$/;

/**
 * An ISO 8601 date or date-time with a time zone, as a Date — only if every field exists:
 * Date.parse reads 2020-02-30 as 1 March, which a service never meant.
 */
export function parseIsoDateTime(raw: string): Date | undefined {
  const m = ISO.exec(raw);
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0, offH = 0, offM = 0] = m
    .slice(1)
    .map((v) => (v === undefined ? undefined : Number(v))) as number[];
  if (month! < 1 || month! > 12) return undefined;
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (day! < 1 || day! > daysInMonth || hour > 23 || minute > 59 || second > 59 || offH > 23 || offM > 59) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : new Date(t);
}

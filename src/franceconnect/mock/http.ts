import type Koa from 'koa';

const MAX_FORM_BYTES = 64 * 1024;

/**
 * The form body as URLSearchParams (duplicates kept, so that they can be refused). Reads the
 * request stream itself, unless a body parser mounted before the mock already consumed it.
 */
export async function readForm(ctx: Koa.Context): Promise<URLSearchParams> {
  if (ctx.req.readableEnded) return paramsFromParsedBody((ctx.request as { body?: unknown }).body);
  if (!ctx.is('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams(await readRawBody(ctx));
}

function paramsFromParsedBody(body: unknown): URLSearchParams {
  const params = new URLSearchParams();
  if (typeof body !== 'object' || body === null) return params;
  for (const [name, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string') params.append(name, item);
    }
  }
  return params;
}

async function readRawBody(ctx: Koa.Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FORM_BYTES) ctx.throw(413);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `base?name=value…`, keeping whatever query the registered address already has. */
export function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  return url.href;
}

/** Redirect to an address with parameters; 303 after a POST so the browser follows with GET. */
export function redirectTo(ctx: Koa.Context, base: string, params: Record<string, string>): void {
  ctx.set('Cache-Control', 'no-store');
  if (ctx.method === 'POST') ctx.status = 303;
  ctx.redirect(withParams(base, params));
}

export function sendJson(ctx: Koa.Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  ctx.body = body;
}

/**
 * HTML pages of the mock are never framed (FranceConnect forbids iframes), never cached, and
 * may only post to the mock itself and, after a login, redirect to the service's origin.
 */
export function sendHtml(ctx: Koa.Context, status: number, html: string, formTargets: string[] = []): void {
  // After the login, GLC sends the browser on to the service, whose origin the mock cannot know,
  // and browsers check form-action on every redirect: development mock, so any http(s) target.
  const formAction = formTargets.length > 0 ? ["'self'", ...formTargets, 'http:', 'https:'].join(' ') : "'none'";
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  const policy = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ];
  ctx.set('Content-Security-Policy', policy.join('; '));
  ctx.body = html;
}

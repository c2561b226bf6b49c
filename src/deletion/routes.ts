// The deleted-accounts API: a service polls the accounts it knew that GLC deleted.
// Bearer access token of the client-credentials grant with scope deleted_accounts:read
// (RFC 6750 errors); JSON only; no CSRF (no cookie is used).
import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from '../services.js';
import { openApiDocument } from './openapi.js';

export const FEED_SCOPE = 'deleted_accounts:read';
const REALM = 'GrandLyon Connect';
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
// ISO 8601 date-time with a time zone, or a date (taken as 00:00 UTC).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, readonly description: string, readonly extra: Record<string, string> = {}) {
    super(description);
  }
}

function bearerChallenge(error?: string, description?: string, scope?: string): string {
  const parts = [`realm="${REALM}"`];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${description}"`);
  if (scope) parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** The cursor is opaque to services: the last id read, signed for the service that read it. */
export function cursorCodec(s: Services) {
  const sign = (clientId: string, id: number) => s.secrets.hmac('deleted-accounts-cursor', `${clientId}:${id}`).slice(0, 24);
  return {
    encode: (clientId: string, id: number) => Buffer.from(`${id}.${sign(clientId, id)}`).toString('base64url'),
    decode(clientId: string, cursor: string): number | undefined {
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
      const m = /^(\d{1,18})\.([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
      if (!m) return undefined;
      const id = Number(m[1]);
      const expected = Buffer.from(sign(clientId, id));
      return Number.isSafeInteger(id) && timingSafeEqual(Buffer.from(m[2]!), expected) ? id : undefined;
    },
  };
}

/** Authenticates the service: a valid, unexpired, unrevoked client-credentials token of an enabled client. */
async function authenticate(s: Services, ctx: Context): Promise<string> {
  const header = ctx.get('authorization');
  if (typeof ctx.query.access_token !== 'undefined') {
    throw new ApiError(400, 'invalid_request', 'send the access token in the Authorization header, not in the URL', { 'WWW-Authenticate': bearerChallenge('invalid_request', 'token in the query string is refused') });
  }
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!header || !/^Bearer\b/i.test(header)) {
    // RFC 6750 §3.1: no credentials at all → a challenge without error code.
    throw new ApiError(401, 'invalid_token', 'a Bearer access token (client credentials, scope deleted_accounts:read) is required', { 'WWW-Authenticate': bearerChallenge(undefined, undefined, FEED_SCOPE) });
  }
  if (!m) throw new ApiError(400, 'invalid_request', 'malformed Authorization header', { 'WWW-Authenticate': bearerChallenge('invalid_request', 'malformed Authorization header') });
  const invalid = () => new ApiError(401, 'invalid_token', 'the access token is unknown, expired or revoked', { 'WWW-Authenticate': bearerChallenge('invalid_token', 'the access token is unknown, expired or revoked') });
  const token = await s.provider.ClientCredentials.find(m[1]!);
  if (!token || token.isExpired || token.isSenderConstrained()) throw invalid();
  const client = await s.clientStore.find(token.clientId!);
  if (!client?.enabled) throw invalid();
  if (!token.scopes.has(FEED_SCOPE)) {
    throw new ApiError(403, 'insufficient_scope', `the access token lacks the scope ${FEED_SCOPE}`, { 'WWW-Authenticate': bearerChallenge('insufficient_scope', `scope ${FEED_SCOPE} required`, FEED_SCOPE) });
  }
  return client.client_id;
}

function single(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  if (Array.isArray(v)) throw new ApiError(400, 'invalid_request', `${name}: given more than once`, { parameter: name });
  return v;
}

function badParameter(name: string, description: string): ApiError {
  return new ApiError(400, 'invalid_request', `${name}: ${description}`, { parameter: name });
}

export function deletionApiRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/v1' });
  const cursors = cursorCodec(s);

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const { parameter, ...headers } = err.extra;
      for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
      ctx.status = err.status;
      ctx.body = { error: err.error, error_description: err.description, ...(parameter && { parameter }) };
      s.log.info({ requestId: ctx.state.requestId, path: ctx.path, status: err.status, error: err.error, parameter }, 'api request refused');
    }
  });

  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = openApiDocument(s.config.issuer);
  });

  router.get('/deleted-accounts', async (ctx) => {
    const clientId = await authenticate(s, ctx);
    const rawLimit = single(ctx, 'limit');
    const rawCursor = single(ctx, 'cursor');
    const rawSince = single(ctx, 'since');
    let limit = DEFAULT_LIMIT;
    if (rawLimit !== undefined) {
      if (!/^\d{1,7}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) throw badParameter('limit', `an integer from 1 to ${MAX_LIMIT}`);
      limit = Number(rawLimit);
    }
    if (rawCursor !== undefined && rawSince !== undefined) throw badParameter('since', 'cannot be combined with cursor (the cursor already says where to resume)');
    let afterId = 0;
    if (rawCursor !== undefined) {
      const id = cursors.decode(clientId, rawCursor);
      if (id === undefined) throw badParameter('cursor', 'unknown cursor: use a next_cursor value returned by this API to this service');
      afterId = id;
    } else if (rawSince !== undefined) {
      const t = ISO_DATE_TIME.test(rawSince) ? Date.parse(rawSince) : NaN;
      if (Number.isNaN(t)) throw badParameter('since', 'an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z');
      afterId = await s.deletion.feedStartSince(clientId, new Date(t));
    }
    const page = await s.deletion.feedPageJson(clientId, afterId, limit);
    // items is a JSON array from the database; the cursor is base64url: nothing to escape.
    ctx.type = 'application/json';
    ctx.body = `{"items":${page.items},"next_cursor":"${cursors.encode(clientId, page.lastId ?? afterId)}","has_more":${page.hasMore}}`;
  });

  return router;
}

// The deleted-accounts API: a service polls the accounts it knew that GLC deleted.
// Bearer access token of the client-credentials grant with scope deleted_accounts:read
// (RFC 6750 errors); JSON only; no CSRF (no cookie is used).
import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { hasControlCharacters, parseIsoDateTime } from '../http/input.js';
import type { Context } from 'koa';
import type { Services } from '../services.js';
import { openApiDocument } from './openapi.js';
import { DEFAULT_MAX_EVENTS, type SetError } from './security-events.js';
import { apiAudienceOf, looksLikeJwt } from '../oidc/api-tokens.js';

export const FEED_SCOPE = 'deleted_accounts:read';
const REALM = 'GrandLyon Connect';
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
// ISO 8601 date-time with a time zone, or a date (taken as 00:00 UTC).

/** RFC 8936 long poll: how long a poll without returnImmediately waits for a first SET, and how often it looks. */
export const LONG_POLL_MS = 15_000;
const LONG_POLL_STEP_MS = 1_000;
const MAX_ACKS = 10_000;
/** Error codes of the poll endpoint (IANA « Security Event Token Error Codes », RFC 8935 / 8936 §2.4). */
const SET_ERR: Record<string, string> = {
  invalid_token: 'authentication_failed',
  insufficient_scope: 'access_denied',
  invalid_request: 'invalid_request',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly extra: Record<string, string> = {},
  ) {
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

/**
 * The token's service and scopes: an access token of GLC's API as the client-credentials grant
 * issues it (opaque, for the API's audience), or a JWT of an earlier version in its last minutes
 * (oidc/api-tokens.ts).
 */
async function apiToken(s: Services, value: string): Promise<{ clientId: string; scopes: Set<string> } | undefined> {
  if (looksLikeJwt(value)) return s.apiTokens.check(value);
  const token = await s.provider.ClientCredentials.find(value);
  if (!token || token.isExpired || token.isSenderConstrained() || !token.clientId) return undefined;
  if (token.aud !== apiAudienceOf(s.provider.issuer)) return undefined;
  return { clientId: token.clientId, scopes: token.scopes };
}

/** Authenticates the service: a valid, unexpired, unrevoked client-credentials token of an enabled client. */
export async function authenticate(s: Services, ctx: Context, scope = FEED_SCOPE): Promise<string> {
  const header = ctx.get('authorization');
  if (typeof ctx.query.access_token !== 'undefined') {
    throw new ApiError(400, 'invalid_request', 'send the access token in the Authorization header, not in the URL', {
      'WWW-Authenticate': bearerChallenge('invalid_request', 'token in the query string is refused'),
    });
  }
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!header || !/^Bearer\b/i.test(header)) {
    // RFC 6750 §3.1: no credentials at all → a challenge without error code.
    throw new ApiError(401, 'invalid_token', `a Bearer access token (client credentials, scope ${scope}) is required`, {
      'WWW-Authenticate': bearerChallenge(undefined, undefined, scope),
    });
  }
  if (!m)
    throw new ApiError(400, 'invalid_request', 'malformed Authorization header', {
      'WWW-Authenticate': bearerChallenge('invalid_request', 'malformed Authorization header'),
    });
  const invalid = () =>
    new ApiError(401, 'invalid_token', 'the access token is unknown, expired or revoked', {
      'WWW-Authenticate': bearerChallenge('invalid_token', 'the access token is unknown, expired or revoked'),
    });
  const token = await apiToken(s, m[1]!);
  if (!token) throw invalid();
  const client = await s.clientStore.find(token.clientId);
  if (!client?.enabled) throw invalid();
  if (!token.scopes.has(scope)) {
    throw new ApiError(403, 'insufficient_scope', `the access token lacks the scope ${scope}`, {
      'WWW-Authenticate': bearerChallenge('insufficient_scope', `scope ${scope} required`, scope),
    });
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
      // The poll endpoint answers in RFC 8936's shape ({ err, description }); the JSON API in RFC 6749's.
      ctx.body = ctx.path.endsWith('/security-events')
        ? { err: SET_ERR[err.error] ?? err.error, description: err.description }
        : { error: err.error, error_description: err.description, ...(parameter && { parameter }) };
      s.log.info(
        { requestId: ctx.state.requestId, path: ctx.path, status: err.status, error: err.error, parameter },
        'api request refused',
      );
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
      if (!/^\d{1,7}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT)
        throw badParameter('limit', `an integer from 1 to ${MAX_LIMIT}`);
      limit = Number(rawLimit);
    }
    if (rawCursor !== undefined && rawSince !== undefined)
      throw badParameter('since', 'cannot be combined with cursor (the cursor already says where to resume)');
    let afterId = 0;
    if (rawCursor !== undefined) {
      const id = cursors.decode(clientId, rawCursor);
      if (id === undefined) throw badParameter('cursor', 'unknown cursor: use a next_cursor value returned by this API to this service');
      afterId = id;
    } else if (rawSince !== undefined) {
      const since = parseIsoDateTime(rawSince);
      if (!since) throw badParameter('since', 'an existing ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z');
      afterId = await s.deletion.feedStartSince(clientId, since);
    }
    const page = await s.deletion.feedPageJson(clientId, afterId, limit);
    await s.statistics.count({ kind: 'api_poll', clientId, detail: 'deleted_accounts' }, new Date());
    // items is a JSON array from the database; the cursor is base64url: nothing to escape.
    ctx.type = 'application/json';
    ctx.body = `{"items":${page.items},"next_cursor":"${cursors.encode(clientId, page.lastId ?? afterId)}","has_more":${page.hasMore}}`;
  });

  // Security Event Tokens by poll (RFC 8936): acknowledge what was processed, receive what is next.
  const jsonBody = bodyParser({
    enableTypes: ['json'],
    jsonLimit: '1mb',
    jsonStrict: true,
    onError: () => {
      throw new ApiError(400, 'invalid_request', 'the request body could not be read as JSON (1 MB at most)');
    },
  });
  router.post(
    '/security-events',
    async (ctx, next) => {
      ctx.state.clientId = await authenticate(s, ctx);
      if (!ctx.is('application/json'))
        throw new ApiError(400, 'invalid_request', 'the poll request must be a JSON object (Content-Type: application/json)');
      await next();
    },
    jsonBody,
    async (ctx) => {
      const clientId = ctx.state.clientId as string;
      if (hasControlCharacters(ctx.request.body)) throw new ApiError(400, 'invalid_request', 'control characters are not allowed');
      const poll = parsePollRequest(ctx.request.body);
      const now = new Date();
      const acked = await s.deletion.securityEvents.acknowledge(clientId, poll.ack, poll.setErrs, now);
      await s.statistics.count({ kind: 'api_poll', clientId, detail: 'security_events' }, now);
      let result = await s.deletion.securityEvents.pending(clientId, poll.maxEvents, now);
      // Long poll: wait for a first SET unless told not to (or nothing was asked for).
      if (!poll.returnImmediately && poll.maxEvents > 0 && !Object.keys(result.sets).length) {
        let gone = false;
        ctx.res.once('close', () => {
          gone = true;
        });
        for (
          let waited = 0;
          waited < LONG_POLL_MS && !gone && !s.shuttingDown && !Object.keys(result.sets).length;
          waited += LONG_POLL_STEP_MS
        ) {
          await new Promise((resolve) => setTimeout(resolve, LONG_POLL_STEP_MS));
          result = await s.deletion.securityEvents.pending(clientId, poll.maxEvents, new Date());
        }
      }
      ctx.body = result;
      s.log.info(
        {
          event: 'security_events_poll',
          clientId,
          delivered: Object.keys(result.sets).length,
          moreAvailable: result.moreAvailable,
          ...acked,
        },
        'security events polled',
      );
    },
  );

  return router;
}

interface PollRequest {
  ack: string[];
  setErrs: Record<string, SetError>;
  maxEvents: number;
  returnImmediately: boolean;
}

/** RFC 8936 §2.1 request members; anything else is ignored. */
function parsePollRequest(body: unknown): PollRequest {
  const bad = (description: string) => new ApiError(400, 'invalid_request', description);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the poll request must be a JSON object');
  const b = body as Record<string, unknown>;
  const ack = b.ack ?? [];
  if (!Array.isArray(ack) || ack.some((j) => typeof j !== 'string')) throw bad('ack: an array of jti strings');
  const setErrs = b.setErrs ?? {};
  if (
    typeof setErrs !== 'object' ||
    setErrs === null ||
    Array.isArray(setErrs) ||
    Object.values(setErrs).some(
      (e) =>
        typeof e !== 'object' ||
        e === null ||
        typeof (e as SetError).err !== 'string' ||
        ((e as SetError).description !== undefined && typeof (e as SetError).description !== 'string'),
    )
  ) {
    throw bad('setErrs: an object of jti → { "err": string, "description"?: string }');
  }
  if (ack.length + Object.keys(setErrs).length > MAX_ACKS) throw bad(`ack and setErrs: at most ${MAX_ACKS} jti per request`);
  const maxEvents = b.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== 'number' || !Number.isSafeInteger(maxEvents) || maxEvents < 0) throw bad('maxEvents: a non-negative integer');
  const returnImmediately = b.returnImmediately ?? false;
  if (typeof returnImmediately !== 'boolean') throw bad('returnImmediately: a boolean');
  return { ack: ack as string[], setErrs: setErrs as Record<string, SetError>, maxEvents, returnImmediately };
}

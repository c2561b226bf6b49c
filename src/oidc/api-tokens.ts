// Access tokens for the APIs GLC serves itself (deleted accounts, security events, statistics),
// obtained with the client-credentials grant, audience `${ISSUER}/api` (RFC 8707). Opaque, as the
// residents' tokens: the provider saves each one with the other protocol rows issued in the same
// turn (one statement for the lot, oidc/adapter.ts), and the API reads it back by its value (one
// primary-key read). Revocation (RFC 7009) and introspection (RFC 7662) are the provider's own,
// and a revoked token is gone for every instance at once. Until 1 December 2026 these tokens were
// signed JWTs (RFC 9068, at+jwt, ES256): nothing written when issued, but the ES256 signature took
// a fifth of the process's CPU per token, more than saving the token in a batch does
// (docs/performance.md). A JWT issued by an earlier version stays valid for its last ten minutes
// after an upgrade: the API still verifies it, and the service can still revoke and introspect
// it (legacy code below, to be removed with the next version).
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { errors, type Configuration, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { Db } from '../db/database.js';
import { CLIENT_CREDENTIALS_SCOPES } from './claims.js';
import { TTL } from './ttl.js';

/** The signature algorithm of the API tokens of earlier versions (legacy, see above). */
const API_TOKEN_ALG = 'ES256';
/** Revoked legacy API tokens are protocol rows like the others: deleted by cleanup-expired after their expiry. */
const REVOKED_MODEL = 'RevokedApiToken';

export const apiAudienceOf = (issuer: string): string => `${issuer}/api`;

export interface ApiTokenClaims {
  jti: string;
  clientId: string;
  scopes: Set<string>;
  exp: number;
  iat: number;
}

/**
 * Resource indicators (RFC 8707), enabled for one resource: GLC's API, the default of the
 * client-credentials grant. Any other resource, or a resource at the authorization endpoint,
 * is refused (invalid_target): the tokens of the resident-facing flows stay opaque, for userinfo.
 */
export function apiResourceIndicators(issuer: string): NonNullable<Configuration['features']>['resourceIndicators'] {
  const audience = apiAudienceOf(issuer);
  const isClientCredentials = (ctx: KoaContextWithOIDC) =>
    ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
  return {
    enabled: true,
    defaultResource: (ctx) => (isClientCredentials(ctx) ? audience : undefined),
    useGrantedResource: () => false,
    getResourceServerInfo: (ctx, resource) => {
      if (resource !== audience || !isClientCredentials(ctx)) {
        throw new errors.InvalidTarget('GLC issues access tokens for its own API only, with the client_credentials grant');
      }
      return {
        audience,
        scope: CLIENT_CREDENTIALS_SCOPES.join(' '),
        accessTokenTTL: TTL.ClientCredentials,
        accessTokenFormat: 'opaque',
      };
    },
  };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Verifies legacy (JWT) API tokens against the keys a provider was built with (current, next and previous). */
export function createApiTokenVerifier(issuer: string, privateJwks: { keys: JWK[] }) {
  const publicKeys = privateJwks.keys.map(
    (k) => Object.fromEntries(Object.entries(k).filter(([name]) => !(PRIVATE_MEMBERS as readonly string[]).includes(name))) as JWK,
  );
  const keySet = createLocalJWKSet({ keys: publicKeys });
  const audience = apiAudienceOf(issuer);
  return async (token: string): Promise<ApiTokenClaims | undefined> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, { issuer, audience, typ: 'at+jwt', algorithms: [API_TOKEN_ALG] }));
    } catch {
      return undefined;
    }
    const { jti, client_id: clientId, sub, scope, exp, iat } = payload as JWTPayload & { client_id?: unknown; scope?: unknown };
    // A client-credentials token is about the service itself (sub = client_id), never sender-constrained here.
    if (typeof jti !== 'string' || typeof clientId !== 'string' || sub !== clientId || typeof exp !== 'number' || 'cnf' in payload) {
      return undefined;
    }
    return { jti, clientId, scopes: new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []), exp, iat: iat ?? 0 };
  };
}
export type ApiTokenVerifier = ReturnType<typeof createApiTokenVerifier>;

export function looksLikeJwt(token: string): boolean {
  try {
    return Boolean(decodeProtectedHeader(token));
  } catch {
    return false;
  }
}

export function createRevokedApiTokens(db: Db) {
  return {
    async revoke(claims: ApiTokenClaims): Promise<void> {
      await db
        .insertInto('oidc_payloads')
        .values({
          model: REVOKED_MODEL,
          id: claims.jti,
          payload: JSON.stringify({ clientId: claims.clientId }),
          expires_at: new Date(claims.exp * 1000),
        })
        .onConflict((oc) => oc.columns(['model', 'id']).doNothing())
        .execute();
    },

    async isRevoked(jti: string): Promise<boolean> {
      const row = await db
        .selectFrom('oidc_payloads')
        .select('id')
        .where('model', '=', REVOKED_MODEL)
        .where('id', '=', jti)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
export type RevokedApiTokens = ReturnType<typeof createRevokedApiTokens>;

/**
 * Where oidc-provider answered unsupported_token_type to an authenticated service because the
 * token is a JWT: a legacy API token of that service is revoked (or introspected) as an opaque one
 * would be; any other token gets what RFC 7009 §2.2 and RFC 7662 §2.2 give an unknown token.
 */
export function providerApiTokens(provider: Provider, verify: ApiTokenVerifier, revoked: RevokedApiTokens): void {
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (route !== 'revocation' && route !== 'introspection') return;
    const client = ctx.oidc.client;
    if (!client || ctx.status !== 400 || (ctx.body as { error?: string } | undefined)?.error !== 'unsupported_token_type') return;
    const claims = await verify(String(ctx.oidc.params?.token ?? ''));
    const own = claims !== undefined && claims.clientId === client.clientId;
    ctx.status = 200;
    if (route === 'revocation') {
      if (own) await revoked.revoke(claims);
      ctx.body = '';
      return;
    }
    ctx.type = 'json';
    ctx.body =
      own && !(await revoked.isRevoked(claims.jti)) // expiry: checked by verify
        ? {
            active: true,
            client_id: claims.clientId,
            sub: claims.clientId,
            scope: [...claims.scopes].join(' ') || undefined,
            token_type: 'Bearer',
            aud: apiAudienceOf(provider.issuer),
            iss: provider.issuer,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
          }
        : { active: false };
  });
}

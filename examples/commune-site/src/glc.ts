// Everything the site asks of GrandLyon Connect, with openid-client and jose: discovery, the
// logout token check (OpenID Connect Back-Channel Logout 1.0, § 2.6) and the deleted-accounts API.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ResidentStore } from './residents.js';

export interface GlcClient {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** Discovery happens at the first use, and again after a failure (GLC may start after the site). */
export function glcConfiguration(glc: GlcClient, options: { production: boolean }): () => Promise<oidc.Configuration> {
  const issuer = new URL(glc.issuer);
  // Plain http is for a GLC on this machine, in development only.
  const insecure = issuer.protocol === 'http:';
  if (insecure && (options.production || !['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname))) {
    throw new Error(`GLC_ISSUER must use https (${glc.issuer})`);
  }
  let configuration: Promise<oidc.Configuration> | undefined;
  return () => {
    configuration ??= oidc
      .discovery(
        issuer,
        glc.clientId,
        undefined,
        oidc.ClientSecretBasic(glc.clientSecret),
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        configuration = undefined;
        throw err;
      });
    return configuration;
  };
}

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export class LogoutTokenError extends Error {}

export interface LogoutToken {
  sid: string | undefined;
  sub: string | undefined;
  jti: string;
}

/**
 * Checks a logout token as the specification asks: signature by GLC's published keys, iss, aud,
 * iat (and exp when present), jti (once only), the back-channel logout event, sid or sub, no nonce.
 */
export function logoutTokenVerifier(options: { issuer: string; clientId: string; keys: () => Promise<JWTVerifyGetKey> }) {
  const seen = new Map<string, number>(); // jti → when it may be forgotten (after the token's age limit)
  const MAX_AGE_S = 300;
  return async (token: string, now = Date.now()): Promise<LogoutToken> => {
    const keys = await options.keys();
    let payload;
    let typ: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { typ },
      } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.clientId,
        algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
        requiredClaims: ['iat', 'jti'],
        maxTokenAge: MAX_AGE_S,
        clockTolerance: 30,
        currentDate: new Date(now),
      }));
    } catch (err) {
      throw new LogoutTokenError(`signature or claims: ${(err as Error).message}`);
    }
    // Explicit typing (recommended by the specification): an ID token can never pass for a logout token.
    if (typ !== undefined && typ.toLowerCase() !== 'logout+jwt' && typ.toLowerCase() !== 'application/logout+jwt')
      throw new LogoutTokenError('typ');
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events?.[BACKCHANNEL_LOGOUT_EVENT];
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new LogoutTokenError('events');
    if ('nonce' in payload) throw new LogoutTokenError('nonce');
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!sid && !sub) throw new LogoutTokenError('sid or sub');
    const jti = payload.jti!;
    for (const [id, until] of seen) if (until < now) seen.delete(id);
    if (seen.has(jti)) throw new LogoutTokenError('jti already used');
    seen.set(jti, now + (MAX_AGE_S + 60) * 1000);
    return { sid, sub, jti };
  };
}

/** GLC's published keys, found by discovery; jose refetches them when an unknown kid arrives. */
export function glcKeys(config: () => Promise<oidc.Configuration>): () => Promise<JWTVerifyGetKey> {
  let keys: JWTVerifyGetKey | undefined;
  return async () => {
    keys ??= createRemoteJWKSet(new URL((await config()).serverMetadata().jwks_uri!));
    return keys;
  };
}

export interface PollReport {
  received: number;
  removed: number;
  cursor: string | null;
}

interface DeletedAccountsPage {
  items: { sub: string; deleted_at: string; reason: string }[];
  next_cursor: string;
  has_more: boolean;
}

/**
 * One pass over the deleted-accounts API (docs/api-comptes-supprimes.md): a client-credentials
 * token, then every page from the saved cursor; each deleted account's local record is removed,
 * and the new cursor saved after each page (a crash re-reads at most one page: removal is idempotent).
 */
export async function pollDeletedAccounts(deps: {
  config: () => Promise<oidc.Configuration>;
  store: ResidentStore;
  onDeleted?: (sub: string) => void;
  onCursorRefused?: () => void;
}): Promise<PollReport> {
  const config = await deps.config();
  const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'deleted_accounts:read' });
  const endpoint = new URL('/api/v1/deleted-accounts', config.serverMetadata().issuer);
  const report: PollReport = { received: 0, removed: 0, cursor: await deps.store.deletedAccountsCursor() };
  for (;;) {
    const url = new URL(endpoint);
    url.searchParams.set('limit', '1000');
    if (report.cursor) url.searchParams.set('cursor', report.cursor);
    const res = await oidc.fetchProtectedResource(config, token, url, 'GET');
    if (
      res.status === 400 &&
      report.cursor &&
      (
        (await res
          .clone()
          .json()
          .catch(() => ({}))) as { parameter?: string }
      ).parameter === 'cursor'
    ) {
      // A cursor GLC no longer accepts (the service was registered again): read everything kept
      // again, from the oldest record. Removing an unknown resident is harmless.
      deps.onCursorRefused?.();
      report.cursor = null;
      continue;
    }
    if (!res.ok) throw new Error(`deleted-accounts API answered ${res.status}`);
    const page = (await res.json()) as DeletedAccountsPage;
    for (const item of page.items) {
      report.received++;
      if (await deps.store.remove(item.sub)) report.removed++;
      deps.onDeleted?.(item.sub);
    }
    await deps.store.saveDeletedAccountsCursor(page.next_cursor);
    report.cursor = page.next_cursor;
    if (!page.has_more) return report;
  }
}

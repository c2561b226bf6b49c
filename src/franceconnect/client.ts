// GLC as a FranceConnect v2 relying party (« fournisseur de service »), written with jose so that
// every rule of the FC contract is visible here: discovery and JWKS cached ≤ 10 min (JWKS fetched
// again once on an unknown kid), exactly the whitelisted authorize parameters, client_secret_post,
// ID token checks (configured alg only, kid, iss, aud/azp, exp/iat ±30 s, nonce, acr=eidas1),
// userinfo as a signed JWT whose sub must be the ID token's.
import { createHash, timingSafeEqual } from 'node:crypto';
import { importJWK, jwtVerify, type JWK, type JWTPayload, type JWTHeaderParameters } from 'jose';

export const CACHE_MS = 10 * 60_000;
export const CLOCK_TOLERANCE_S = 30;
const HTTP_TIMEOUT_MS = 10_000;

export interface FcClientOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  scopes: string;
  idTokenAlg: 'ES256' | 'RS256';
}

interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  end_session_endpoint: string;
  jwks_uri: string;
}

/** Why FranceConnect's answer was refused; `reason` goes to the logs (never personal data). */
export class FcProtocolError extends Error {
  constructor(
    readonly reason: string,
    /** Network failure or 5xx at FranceConnect: « réessayez plus tard » rather than « refusé ». */
    readonly unavailable = false,
  ) {
    super(reason);
    this.name = 'FcProtocolError';
  }
}

export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function fetchOrFail(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch {
    throw new FcProtocolError(`${what}_unreachable`, true);
  }
}

export interface FcTokens {
  idToken: string;
  idTokenClaims: JWTPayload & { sub: string; acr: string };
  accessToken: string;
}

export function createFranceConnectClient(options: FcClientOptions) {
  const alg = options.idTokenAlg;
  let metadata: { value: Metadata; at: number } | undefined;
  let jwks: { keys: JWK[]; at: number } | undefined;
  /** Counters for operators and tests: how often discovery and the JWKS were fetched. */
  const stats = { discoveryFetches: 0, jwksFetches: 0 };

  async function discover(): Promise<Metadata> {
    if (metadata && Date.now() - metadata.at < CACHE_MS) return metadata.value;
    stats.discoveryFetches++;
    const res = await fetchOrFail(
      `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
      { headers: { accept: 'application/json' } },
      'discovery',
    );
    if (!res.ok) throw new FcProtocolError('discovery_http_' + res.status, res.status >= 500);
    const doc = (await res.json().catch(() => ({}))) as Partial<Metadata>;
    if (doc.issuer !== options.issuer) throw new FcProtocolError('discovery_issuer_mismatch');
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'end_session_endpoint', 'jwks_uri'] as const) {
      if (typeof doc[key] !== 'string' || !URL.canParse(doc[key])) throw new FcProtocolError(`discovery_missing_${key}`);
    }
    metadata = { value: doc as Metadata, at: Date.now() };
    return metadata.value;
  }

  async function loadJwks(): Promise<JWK[]> {
    stats.jwksFetches++;
    const res = await fetchOrFail((await discover()).jwks_uri, { headers: { accept: 'application/json' } }, 'jwks');
    if (!res.ok) throw new FcProtocolError('jwks_http_' + res.status, res.status >= 500);
    const body = (await res.json().catch(() => ({}))) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new FcProtocolError('jwks_invalid');
    jwks = { keys: body.keys as JWK[], at: Date.now() };
    return jwks.keys;
  }

  /** The verification key for `kid`; an unknown kid makes one fresh fetch of the JWKS. */
  async function keyFor(header: JWTHeaderParameters) {
    if (header.alg !== alg) throw new FcProtocolError('jwt_alg_not_allowed');
    if (typeof header.kid !== 'string' || !header.kid) throw new FcProtocolError('jwt_kid_missing');
    const find = (keys: JWK[]) =>
      keys.find((k) => k.kid === header.kid && (k.use === undefined || k.use === 'sig') && (k.alg === undefined || k.alg === alg));
    const fresh = jwks && Date.now() - jwks.at < CACHE_MS;
    let jwk = fresh ? find(jwks!.keys) : undefined;
    if (!jwk) jwk = find(await loadJwks());
    if (!jwk) throw new FcProtocolError('jwt_kid_unknown');
    try {
      return await importJWK(jwk, alg);
    } catch {
      throw new FcProtocolError('jwk_unusable');
    }
  }

  async function verify(jwt: string, what: 'id_token' | 'userinfo', now: Date): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(jwt, keyFor, {
        algorithms: [alg],
        issuer: options.issuer,
        audience: options.clientId,
        clockTolerance: CLOCK_TOLERANCE_S,
        // FC tokens live 60 s: older is refused, and so is an iat in the future beyond the leeway.
        maxTokenAge: 60 + CLOCK_TOLERANCE_S,
        currentDate: now,
        requiredClaims: what === 'id_token' ? ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce', 'acr'] : ['iss', 'sub', 'aud'],
      });
      return payload;
    } catch (err) {
      if (err instanceof FcProtocolError) throw new FcProtocolError(`${what}_${err.reason}`, err.unavailable);
      const code = (err as { code?: string }).code ?? 'invalid';
      throw new FcProtocolError(`${what}_${code.replace(/^ERR_/, '').toLowerCase()}`);
    }
  }

  return {
    issuer: options.issuer,
    stats,
    discover,

    /** Exactly FranceConnect's parameters: nothing else (FC would keep the resident on an error page). */
    async authorizationUrl(input: { state: string; nonce: string }): Promise<string> {
      const url = new URL((await discover()).authorization_endpoint);
      const params = {
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: options.redirectUri,
        scope: options.scopes,
        acr_values: 'eidas1',
        state: input.state,
        nonce: input.nonce,
      };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return url.href;
    },

    /** Code for tokens at once (codes live 30 s), client_secret_post, then the ID token checks. */
    async exchangeCode(code: string, expectedNonce: string, now: Date): Promise<FcTokens> {
      const meta = await discover();
      const res = await fetchOrFail(
        meta.token_endpoint,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: options.redirectUri,
            client_id: options.clientId,
            client_secret: options.clientSecret,
          }),
        },
        'token',
      );
      const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) {
        const error = typeof body.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? body.error : 'http_' + res.status;
        throw new FcProtocolError(`token_${error}`, res.status >= 500);
      }
      const { id_token: idToken, access_token: accessToken, token_type: tokenType } = body;
      if (
        typeof idToken !== 'string' ||
        typeof accessToken !== 'string' ||
        typeof tokenType !== 'string' ||
        tokenType.toLowerCase() !== 'bearer'
      ) {
        throw new FcProtocolError('token_response_invalid');
      }
      const claims = await verify(idToken, 'id_token', now);
      if (typeof claims.nonce !== 'string' || !sameString(claims.nonce, expectedNonce))
        throw new FcProtocolError('id_token_nonce_mismatch');
      if (claims.acr !== 'eidas1') throw new FcProtocolError('id_token_acr_not_eidas1');
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) throw new FcProtocolError('id_token_azp_missing');
      if (claims.azp !== undefined && claims.azp !== options.clientId) throw new FcProtocolError('id_token_azp_mismatch');
      if (typeof claims.sub !== 'string' || !claims.sub) throw new FcProtocolError('id_token_sub_missing');
      if (typeof claims.at_hash === 'string') {
        const digest = createHash('sha256').update(accessToken, 'ascii').digest();
        if (claims.at_hash !== digest.subarray(0, 16).toString('base64url')) throw new FcProtocolError('id_token_at_hash_mismatch');
      }
      return { idToken, idTokenClaims: claims as FcTokens['idTokenClaims'], accessToken };
    },

    /** Userinfo is a signed JWT at FranceConnect, never plain JSON; its sub must be the ID token's. */
    async userinfo(accessToken: string, expectedSub: string, now: Date): Promise<JWTPayload> {
      const res = await fetchOrFail(
        (await discover()).userinfo_endpoint,
        {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/jwt' },
        },
        'userinfo',
      );
      if (!res.ok) throw new FcProtocolError('userinfo_http_' + res.status, res.status >= 500);
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/jwt') throw new FcProtocolError('userinfo_not_jwt');
      const claims = await verify((await res.text()).trim(), 'userinfo', now);
      if (claims.sub !== expectedSub) throw new FcProtocolError('userinfo_sub_mismatch');
      return claims;
    },

    async endSessionUrl(input: { idTokenHint: string; state: string }): Promise<string> {
      const url = new URL((await discover()).end_session_endpoint);
      url.searchParams.set('id_token_hint', input.idTokenHint);
      url.searchParams.set('state', input.state);
      url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
      return url.href;
    },
  };
}
export type FranceConnectClient = ReturnType<typeof createFranceConnectClient>;

import type Koa from 'koa';

import { claimsForScopes, pairwiseSub } from './claims.js';
import type { MockDeps } from './context.js';
import { sendJson } from './http.js';
import { isErrorIdentity } from './identities.js';
import { signUserinfo, userinfoPayload } from './jwt.js';
import type { AccessTokenGrant } from './store.js';

/** GET|POST /userinfo: the identity as a signed JWT (application/jwt), never plain JSON. */
export async function userinfo(ctx: Koa.Context, deps: MockDeps): Promise<void> {
  const grant = bearerGrant(ctx, deps);
  if (!grant) return;
  const identity = deps.identities.get(grant.login);
  if (!identity || isErrorIdentity(identity)) throw new Error('access token bound to an unknown identity');

  const payload = userinfoPayload(
    {
      issuer: deps.issuer,
      sub: pairwiseSub(grant.clientId, grant.login),
      clientId: grant.clientId,
      claims: claimsForScopes(identity, grant.scopes),
      now: deps.now(),
    },
    deps.faults,
  );
  if (deps.faults.userinfoAsJson) return sendJson(ctx, 200, payload);
  ctx.status = 200;
  ctx.type = 'application/jwt';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await signUserinfo(payload, deps.keys.current);
}

/**
 * The live grant behind the Authorization: Bearer header, or undefined once a 401 was sent
 * (RFC 6750 §3: no error code when no token was given at all).
 */
function bearerGrant(ctx: Koa.Context, deps: MockDeps): AccessTokenGrant | undefined {
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(ctx.get('Authorization'));
  if (!match?.[1]) {
    sendUnauthorized(ctx, 'no access token provided', false);
    return undefined;
  }
  const grant = deps.store.accessTokens.get(match[1]);
  if (!grant || grant.expiresAt <= deps.now()) {
    sendUnauthorized(ctx, 'invalid or expired access token', true);
    return undefined;
  }
  return grant;
}

function sendUnauthorized(ctx: Koa.Context, description: string, tokenGiven: boolean): void {
  const realm = 'realm="FranceConnect"';
  ctx.set(
    'WWW-Authenticate',
    tokenGiven ? `Bearer ${realm}, error="invalid_token", error_description="${description}"` : `Bearer ${realm}`,
  );
  sendJson(ctx, 401, { error: 'invalid_token', error_description: description });
}

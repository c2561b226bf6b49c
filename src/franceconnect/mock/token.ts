import type Koa from 'koa';

import { pairwiseSub } from './claims.js';
import type { MockDeps } from './context.js';
import { readForm, sendJson } from './http.js';
import { signIdToken } from './jwt.js';
import { randomToken, sameSecret } from './secrets.js';
import { LIFETIMES, type CodeGrant } from './store.js';
import type { FcMockClient } from './types.js';

class TokenError extends Error {
  constructor(
    readonly status: 400 | 401,
    readonly error: string,
    readonly description: string,
  ) {
    super(error);
  }
}

const invalidClient = (description: string) => new TokenError(401, 'invalid_client', description);
const invalidRequest = (description: string) => new TokenError(400, 'invalid_request', description);
const invalidGrant = (description: string) => new TokenError(400, 'invalid_grant', description);

/** POST /token: authorization_code grant, client_secret_post only, as FranceConnect. */
export async function token(ctx: Koa.Context, deps: MockDeps): Promise<void> {
  try {
    sendJson(ctx, 200, await exchangeCode(ctx, deps));
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    sendJson(ctx, error.status, { error: error.error, error_description: error.description });
  }
}

async function exchangeCode(ctx: Koa.Context, deps: MockDeps): Promise<Record<string, unknown>> {
  // Many libraries default to client_secret_basic: FranceConnect refuses it, so does the mock.
  if (ctx.get('Authorization')) throw invalidClient('only client_secret_post is supported');
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw invalidRequest('the body must be application/x-www-form-urlencoded');
  }
  const form = await readForm(ctx);
  const client = authenticateClient(deps, form);
  const code = consumeCode(deps, form, client);

  const accessToken = randomToken();
  const now = deps.now();
  deps.store.accessTokens.set(accessToken, {
    clientId: client.clientId,
    login: code.login,
    scopes: code.request.scopes,
    expiresAt: now + LIFETIMES.accessToken,
  });
  code.accessTokens.push(accessToken);

  const idToken = await signIdToken(
    {
      issuer: deps.issuer,
      sub: pairwiseSub(client.clientId, code.login),
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      nonce: code.request.nonce,
      authTime: code.authTime,
      accessToken,
      now,
    },
    deps.keys.current,
    deps.faults,
  );
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: LIFETIMES.accessToken,
    id_token: idToken,
    scope: code.request.scopes.join(' '),
  };
}

function authenticateClient(deps: MockDeps, form: URLSearchParams): FcMockClient {
  if (form.has('client_assertion')) throw invalidClient('private_key_jwt is not enabled for this client');
  const client = deps.clients.get(form.get('client_id') ?? '');
  if (!client || !sameSecret(form.get('client_secret') ?? '', client.clientSecret)) {
    throw invalidClient('client authentication failed');
  }
  return client;
}

/**
 * Checks and burns the code. A code presented twice is a sign of theft (RFC 6749 §4.1.2): the
 * tokens it already gave are revoked.
 */
function consumeCode(deps: MockDeps, form: URLSearchParams, client: FcMockClient): CodeGrant {
  const grantType = form.get('grant_type');
  if (!grantType) throw invalidRequest('missing required parameter grant_type');
  if (grantType !== 'authorization_code') {
    throw new TokenError(400, 'unsupported_grant_type', 'unsupported grant_type requested');
  }
  const codeValue = form.get('code');
  const redirectUri = form.get('redirect_uri');
  if (!codeValue) throw invalidRequest('missing required parameter code');
  if (!redirectUri) throw invalidRequest('missing required parameter redirect_uri');

  const code = deps.store.codes.get(codeValue);
  if (!code || code.request.clientId !== client.clientId) throw invalidGrant('grant request is invalid');
  if (code.used) {
    deps.store.revokeTokensOf(code);
    throw invalidGrant('grant request is invalid');
  }
  code.used = true;
  if (code.expiresAt <= deps.now()) throw invalidGrant('grant request is expired');
  if (code.request.redirectUri !== redirectUri) throw invalidGrant('grant request is invalid');
  // No PKCE at FranceConnect: a verifier without a challenge fails, as in node-oidc-provider.
  if (form.has('code_verifier')) throw invalidGrant('PKCE verification failed');
  return code;
}

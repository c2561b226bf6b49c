import type Koa from 'koa';

import { SUPPORTED_CLAIMS, SUPPORTED_SCOPES } from './claims.js';
import { endpointUrl, type MockDeps } from './context.js';

/** GET /.well-known/openid-configuration: what a FranceConnect v2 client discovers. */
export function discovery(ctx: Koa.Context, deps: MockDeps): void {
  const alg = deps.keys.current.alg;
  ctx.set('Cache-Control', 'public, max-age=600');
  ctx.body = {
    issuer: deps.issuer,
    authorization_endpoint: endpointUrl(deps, '/authorize'),
    token_endpoint: endpointUrl(deps, '/token'),
    userinfo_endpoint: endpointUrl(deps, '/userinfo'),
    end_session_endpoint: endpointUrl(deps, '/session/end'),
    jwks_uri: endpointUrl(deps, '/jwks'),
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['pairwise'],
    token_endpoint_auth_methods_supported: ['client_secret_post'],
    id_token_signing_alg_values_supported: [alg],
    userinfo_signing_alg_values_supported: [alg],
    acr_values_supported: ['eidas1'],
    prompt_values_supported: ['login', 'consent'],
    claims_supported: SUPPORTED_CLAIMS,
    claims_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    ui_locales_supported: ['fr'],
  };
}

/** GET /jwks: public keys only, the current one and the previous one. */
export function jwks(ctx: Koa.Context, deps: MockDeps): void {
  // Short cache: after a rotation, clients that meet an unknown kid refetch at once anyway.
  ctx.set('Cache-Control', 'public, max-age=60');
  ctx.type = 'application/jwk-set+json';
  ctx.body = JSON.stringify(deps.keys.publishedJwks());
}

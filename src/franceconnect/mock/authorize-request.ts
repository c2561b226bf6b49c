import { SUPPORTED_SCOPES } from './claims.js';
import { checkParameterNames, splitList, type ParameterRefusal } from './request-parameters.js';
import type { AuthorizationRequest } from './store.js';
import type { FcMockClient } from './types.js';

/** The only parameters FranceConnect accepts on /authorize; anything else is refused. */
const ALLOWED_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'acr_values',
  'state',
  'nonce',
  'prompt',
  'claims',
  'idp_hint',
  'ui_locales',
]);

const REQUIRED_PARAMETERS = ['client_id', 'redirect_uri', 'response_type', 'state', 'nonce', 'acr_values'] as const;

const MIN_RANDOM_LENGTH = 22;

/**
 * Why FranceConnect shows its own error page and keeps the resident. Each reason has its French
 * text in views/franceconnect-mock/error.njk.
 */
export type PageErrorReason =
  | ParameterRefusal['reason']
  | 'too_short'
  | 'invalid_prompt'
  | 'unknown_client'
  | 'unregistered_redirect_uri'
  | 'unsupported_response_type';

export type AuthorizeOutcome =
  | { kind: 'page'; reason: PageErrorReason; parameter?: string }
  | { kind: 'redirect'; redirectUri: string; state: string; error: string; description: string }
  | { kind: 'accepted'; request: AuthorizationRequest };

const page = (reason: PageErrorReason, parameter?: string): AuthorizeOutcome =>
  parameter === undefined ? { kind: 'page', reason } : { kind: 'page', reason, parameter };

/**
 * Checks an authorization request in FranceConnect's order: first everything that makes it
 * keep the resident on an error page (it cannot trust the return address yet), then what it
 * reports back to the service by redirect.
 */
export function checkAuthorizeRequest(params: URLSearchParams, clients: ReadonlyMap<string, FcMockClient>): AuthorizeOutcome {
  const shapeError = checkParameterNames(params, ALLOWED_PARAMETERS, REQUIRED_PARAMETERS);
  if (shapeError) return shapeError;
  const value = (name: string): string => params.get(name) ?? '';

  const client = clients.get(value('client_id'));
  if (!client) return page('unknown_client');
  if (!client.redirectUris.includes(value('redirect_uri'))) return page('unregistered_redirect_uri');
  if (value('response_type') !== 'code') return page('unsupported_response_type');
  for (const name of ['state', 'nonce'] as const) {
    if (value(name).length < MIN_RANDOM_LENGTH) return page('too_short', name);
  }
  const prompt = params.get('prompt');
  if (prompt !== null && !isValidPrompt(prompt)) return page('invalid_prompt');

  const request: AuthorizationRequest = {
    clientId: client.clientId,
    redirectUri: value('redirect_uri'),
    scopes: [...new Set(splitList(value('scope')))],
    state: value('state'),
    nonce: value('nonce'),
    forceLogin: prompt !== null && splitList(prompt).includes('login'),
  };
  const redirectError = checkForRedirect(params, request);
  return redirectError ?? { kind: 'accepted', request };
}

/** `login` and/or `consent`, each once; `none` and `select_account` are not offered by FranceConnect. */
function isValidPrompt(prompt: string): boolean {
  const values = splitList(prompt);
  return values.length > 0 && new Set(values).size === values.length && values.every((item) => item === 'login' || item === 'consent');
}

function checkForRedirect(params: URLSearchParams, request: AuthorizationRequest): AuthorizeOutcome | undefined {
  const redirect = (error: string, description: string): AuthorizeOutcome => ({
    kind: 'redirect',
    redirectUri: request.redirectUri,
    state: request.state,
    error,
    description,
  });
  if (!request.scopes.includes('openid')) {
    return redirect('invalid_request', 'openid scope must be requested when using the acr_values parameter');
  }
  const unknownScope = request.scopes.find((scope) => !SUPPORTED_SCOPES.includes(scope));
  if (unknownScope) return redirect('invalid_scope', 'requested scope is not allowed');
  if (params.get('acr_values') !== 'eidas1') {
    return redirect('invalid_acr', 'acr_values is not supported by this service provider');
  }
  if (!isValidClaimsParameter(params.get('claims'))) {
    return redirect('invalid_request', 'could not parse the claims parameter JSON');
  }
  return undefined;
}

/** Optional; when given, a JSON object (its requests are not acted on by the mock). */
function isValidClaimsParameter(value: string | null): boolean {
  if (value === null) return true;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

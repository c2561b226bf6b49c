/** Lifetimes, in seconds, as FranceConnect v2 applies them. */
export const LIFETIMES = {
  /** How long the resident may take on the login page. */
  interaction: 10 * 60,
  code: 30,
  accessToken: 60,
  /** FranceConnect's SSO session: while it lives, /authorize answers without a login page. */
  ssoSession: 30 * 60,
} as const;

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string;
  nonce: string;
  forceLogin: boolean;
}

/** A pending /authorize waiting for the login page, bound to the browser that started it. */
export interface Interaction {
  request: AuthorizationRequest;
  browserId: string;
  csrfToken: string;
  expiresAt: number;
}

export interface CodeGrant {
  request: AuthorizationRequest;
  login: string;
  authTime: number;
  expiresAt: number;
  used: boolean;
  /** Revoked if the code is ever presented twice (RFC 6749 §4.1.2). */
  accessTokens: string[];
}

export interface AccessTokenGrant {
  clientId: string;
  login: string;
  scopes: string[];
  expiresAt: number;
}

export interface SsoSession {
  login: string;
  authTime: number;
  expiresAt: number;
}

/**
 * In-memory state of the mock. Entries carry their own expiry (by the mock's clock) and are
 * swept on each request, so no timer outlives the mock.
 */
export class MockStore {
  readonly interactions = new Map<string, Interaction>();
  readonly codes = new Map<string, CodeGrant>();
  readonly accessTokens = new Map<string, AccessTokenGrant>();
  /** Keyed by the browser id of the mock's cookie. */
  readonly sessions = new Map<string, SsoSession>();

  sweep(now: number): void {
    dropExpired(this.interactions, now, 0);
    // A used code is kept while its tokens may live, so that a replay can still revoke them.
    dropExpired(this.codes, now, LIFETIMES.accessToken);
    dropExpired(this.accessTokens, now, 0);
    dropExpired(this.sessions, now, 0);
  }

  revokeTokensOf(code: CodeGrant): void {
    for (const token of code.accessTokens) this.accessTokens.delete(token);
  }

  clear(): void {
    this.interactions.clear();
    this.codes.clear();
    this.accessTokens.clear();
    this.sessions.clear();
  }
}

function dropExpired(map: Map<string, { expiresAt: number }>, now: number, grace: number): void {
  for (const [key, entry] of map) {
    if (entry.expiresAt + grace <= now) map.delete(key);
  }
}

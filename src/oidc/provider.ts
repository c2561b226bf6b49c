// node-oidc-provider configured as GLC's OpenID provider: authorization code + PKCE only,
// exact redirect URIs, pairwise subjects, rotating refresh tokens, everything in PostgreSQL.
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { AccountStore } from '../accounts/store.js';
import { renderView } from '../http/views.js';
import { allowFormTargets } from '../http/middleware.js';
import { createAdapterClass } from './adapter.js';
import { accountClaims, type Claims } from './account-claims.js';
import { SCOPE_CLAIMS, SUPPORTED_SCOPES } from './claims.js';
import type { KeyStore } from './keys.js';

export interface ProviderHooks {
  /** Extra claims of an account (FranceConnect certification adds verified_claims). */
  extraClaims?: (accountId: string, claims: Claims) => Promise<Claims>;
  /** Last filter on claims leaving GLC, after extraClaims: only consented data (consent domain). */
  releaseClaims?: (accountId: string, clientId: string | undefined, claims: Claims) => Promise<Claims>;
  /** Returns the grant to reuse, or undefined to ask for consent again (consent issue). */
  loadExistingGrant?: NonNullable<Configuration['loadExistingGrant']>;
  /** A token response was sent (metrics), with the grant type of the request. */
  onTokenIssued?: (grantType: string) => void;
  /** Called when an account is used by a service (activity for the inactivity rule). */
  onAccountUsed?: (accountId: string) => Promise<void>;
  /** A service obtained an authorization for the account: it knows it by `sub` (deleted-accounts API). */
  onSubjectIssued?: (accountId: string, clientId: string, sub: string) => Promise<void>;
  /** After a logout ended the session: somewhere to send the browser first (FranceConnect's logout), or undefined. */
  afterLogout?: (ctx: KoaContextWithOIDC, info: { accountId: string; location: string }) => Promise<string | undefined>;
}

/** Claims added by ProviderHooks.extraClaims, and the scopes that release them. */
const EXTRA_CLAIMS = new Set(['verified_claims']);
const EXTRA_CLAIM_SCOPES = new Set(Object.entries(SCOPE_CLAIMS).filter(([, claims]) => (claims as readonly string[]).some((c) => EXTRA_CLAIMS.has(c))).map(([scope]) => scope));

/** The `sub` by which a service knows an account, exactly as the provider computes it. */
export function subjectFor(secrets: Pick<Secrets, 'hmac'>, client: { subjectType?: string; sectorIdentifier?: string }, accountId: string): string {
  return client.subjectType === 'pairwise' ? secrets.hmac('pairwise', `${client.sectorIdentifier}|${accountId}`) : accountId;
}

export interface ProviderDeps {
  config: Config;
  db: Db;
  log: Logger;
  secrets: Secrets;
  clients: ClientStore;
  accounts: AccountStore;
  keys: KeyStore;
  hooks: ProviderHooks;
}

export const TTL = {
  AuthorizationCode: 60,
  AccessToken: 600,
  ClientCredentials: 600,
  IdToken: 3600,
  Interaction: 3600,
  Session: 14 * 24 * 3600,
  RefreshToken: 30 * 24 * 3600,
  Grant: 400 * 24 * 3600,
} as const;

function errorPage(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): string {
  const byCode: Record<string, string> = {
    invalid_request: 'La demande de connexion envoyée par le service est incomplète ou incorrecte.',
    invalid_client: 'Le service qui vous a envoyé ici n’est pas reconnu par GrandLyon Connect.',
    invalid_redirect_uri: 'Le service qui vous a envoyé ici a fourni une adresse de retour non autorisée.',
    unauthorized_client: 'Ce service n’est pas autorisé à faire cette demande.',
    invalid_scope: 'Le service demande des informations qui ne sont pas prévues.',
    access_denied: 'La demande a été refusée.',
    session_not_found: 'Votre session a expiré.',
    server_error: 'Une erreur inattendue s’est produite de notre côté.',
  };
  const key = out.error === 'invalid_request' && /redirect_uri/.test(out.error_description ?? '') ? 'invalid_redirect_uri' : out.error;
  return renderView('errors/oidc.njk', {
    title: 'La connexion n’a pas pu aboutir',
    message: byCode[key] ?? 'La demande de connexion n’a pas pu être traitée.',
    code: out.error,
    requestId: ctx.state?.requestId,
  });
}

export async function createProvider(deps: ProviderDeps): Promise<Provider> {
  const { config, db, log, secrets, clients, accounts, keys, hooks } = deps;
  const jwks = await keys.privateJwks();

  const configuration: Configuration = {
    adapter: createAdapterClass(db, clients),
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: secrets.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
      names: { session: 'glc.session', interaction: 'glc.interaction', resume: 'glc.resume' },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: SUPPORTED_SCOPES,
    // Scope claims plus the standalone protocol claims (acr, amr, auth_time, sid): a service can
    // see that a login went through FranceConnect (acr eidas1, amr fc).
    claims: { ...SCOPE_CLAIMS, openid: ['sub', 'acr', 'amr', 'auth_time'], acr: null, amr: null, auth_time: null, sid: null } as unknown as Configuration['claims'],
    subjectTypes: ['pairwise', 'public'],
    // eidas1 = the login went through FranceConnect (eIDAS low); password logins carry no acr.
    acrValues: ['eidas1'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      subject_type: 'pairwise',
      id_token_signed_response_alg: 'RS256',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      userinfoSigningAlgValues: ['ES256', 'RS256'],
      introspectionSigningAlgValues: ['ES256', 'RS256'],
      authorizationSigningAlgValues: ['ES256', 'RS256'],
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256'],
    },
    pairwiseIdentifier: async (_ctx, accountId, client) => subjectFor(secrets, client, accountId),
    findAccount: async (ctx, id) => {
      const account = await accounts.findById(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async (_use, scope, requested, rejected) => {
          let claims = accountClaims(account, id);
          // The extra claims (verified_claims) leave only for their scope or when asked by name:
          // otherwise their lookup, one query on every userinfo and token, is useless.
          const extraWanted = scope.split(' ').some((sc) => EXTRA_CLAIM_SCOPES.has(sc)) || Object.keys(requested ?? {}).some((c) => EXTRA_CLAIMS.has(c));
          if (hooks.extraClaims && extraWanted) claims = await hooks.extraClaims(id, claims);
          // Defence in depth: oidc-provider masks rejected claims too.
          for (const r of rejected) delete claims[r];
          if (hooks.releaseClaims) claims = await hooks.releaseClaims(id, ctx.oidc.client?.clientId, claims);
          return claims as { sub: string };
        },
      };
    },
    // Hooks are read at call time: domains register them after the provider is built.
    loadExistingGrant: async (ctx) => {
      if (hooks.loadExistingGrant) return hooks.loadExistingGrant(ctx);
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: { ...TTL },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A service may only introspect its own tokens.
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId && ctx.oidc.client?.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        // A service may only revoke its own tokens (RFC 7009 §2.1).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      jwtUserinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          // The confirmation form ends on the service's post-logout URI, or first on FranceConnect's
          // logout (this is the provider's own request context: the app's allowances are not here).
          allowFormTargets(ctx, [config.franceConnect.issuer, ...(ctx.oidc.client?.postLogoutRedirectUris ?? [])]);
          ctx.type = 'html';
          ctx.body = renderView('logout/confirm.njk', { form, clientName: ctx.oidc.client?.clientName });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderView('logout/done.njk', { clientName: ctx.oidc.client?.clientName });
        },
      },
      resourceIndicators: { enabled: false },
    },
    extraParams: [],
    // oidc-provider refuses outgoing requests (back-channel logout, jwks_uri) to loopback and
    // private addresses (SSRF protection). Outside production, services run on localhost.
    ...(!config.production && {
      fetch: (url: string | URL | Request, options?: RequestInit) => {
        delete (options as { dispatcher?: unknown } | undefined)?.dispatcher;
        return globalThis.fetch(url, options);
      },
    }),
    discovery: {
      service_documentation: `${config.issuer}/docs/kit-de-raccordement`,
      ui_locales_supported: ['fr-FR'],
      claims_locales_supported: ['fr-FR'],
    },
    clientBasedCORS: (_ctx, origin, client) => {
      const allowed = new Set((client.redirectUris ?? []).map((u) => new URL(u).origin));
      return allowed.has(origin);
    },
    renderError: async (ctx, out, error) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      if (status >= 500) log.error({ requestId: ctx.state?.requestId, err: { name: (error as Error).name, message: (error as Error).message } }, 'provider error');
      ctx.type = 'html';
      ctx.body = errorPage(ctx, out as { error: string; error_description?: string });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.production;

  provider.on('server_error', (ctx, err) => {
    log.error({ requestId: ctx.state?.requestId, err: { name: err.name, message: err.message } }, 'oidc server_error');
  });
  const onAny = provider.on.bind(provider) as (event: string, listener: (...args: unknown[]) => void) => void;
  for (const event of ['grant.error', 'authorization.error', 'introspection.error', 'revocation.error', 'userinfo.error', 'end_session.error', 'backchannel.error']) {
    onAny(event, (...args: unknown[]) => {
      const err = args.find((a): a is errors.OIDCProviderError => a instanceof Error) as (Error & { error?: string; statusCode?: number }) | undefined;
      const level = err?.statusCode && err.statusCode >= 500 ? 'error' : 'info';
      log[level]({ event, error: err?.error ?? err?.name, description: (err as { error_description?: string } | undefined)?.error_description ?? (err?.error ? undefined : err?.message) }, 'oidc error');
    });
  }
  // A service got an authorization (new login or reuse of the GLC session): activity, and the
  // service now knows the account by its sub.
  provider.on('authorization.success', (ctx) => {
    const accountId = ctx.oidc.session?.accountId;
    const client = ctx.oidc.client;
    if (!accountId || !client) return;
    if (hooks.onAccountUsed) void hooks.onAccountUsed(accountId).catch(() => undefined);
    if (hooks.onSubjectIssued) void hooks.onSubjectIssued(accountId, client.clientId, subjectFor(secrets, client, accountId)).catch(() => undefined);
  });
  provider.on('grant.success', (ctx) => {
    hooks.onTokenIssued?.(String(ctx.oidc.params?.grant_type ?? ''));
    const accountId = ctx.oidc.entities.RefreshToken?.accountId ?? ctx.oidc.entities.AuthorizationCode?.accountId;
    if (accountId && hooks.onAccountUsed) void hooks.onAccountUsed(accountId).catch(() => undefined);
  });
  // A logout that ended the session may continue elsewhere first (FranceConnect's own logout).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/session/end/confirm' || ctx.status !== 303 || !hooks.afterLogout) return;
    const session = ctx.oidc?.session as { destroyed?: boolean; accountId?: string } | undefined;
    if (!session?.destroyed || !session.accountId) return;
    const target = await hooks.afterLogout(ctx as KoaContextWithOIDC, { accountId: session.accountId, location: ctx.response.get('Location') });
    if (target) ctx.redirect(target);
  });
  return provider;
}

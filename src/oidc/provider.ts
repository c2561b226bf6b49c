// node-oidc-provider configured as GLC's OpenID provider: authorization code + PKCE only,
// exact redirect URIs, pairwise subjects, rotating refresh tokens, everything in PostgreSQL.
import { EXTERNAL_SIGNING_ACK, withNodeEs256Signing } from './node-signing-key.js';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type Koa from 'koa';
import type { Logger } from '../log.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { Account } from '../db/schema.js';
import { renderView } from '../http/views.js';
import { allowFormTargets } from '../http/middleware.js';
import { forceSecureCookies, trustProxies } from '../http/proxy.js';
import { createAdapterClass, type ReadAlong } from './adapter.js';
import { SECTOR_PATTERN, subjectFor } from './subjects.js';
import { TTL } from './ttl.js';
import { accountClaims, type Claims } from './account-claims.js';
import { CLIENT_CREDENTIALS_SCOPES, SCOPE_CLAIMS, SUPPORTED_SCOPES } from './claims.js';
import type { KeyStore } from './keys.js';
import {
  apiResourceIndicators,
  createApiTokenVerifier,
  providerApiTokens,
  type ApiTokenVerifier,
  type RevokedApiTokens,
} from './api-tokens.js';

/** Adds claims of an account (FranceConnect certification adds verified_claims), naming those it adds. */
export interface ClaimSource {
  readonly claims: readonly string[];
  add(accountId: string, claims: Claims): Promise<Claims>;
}

/**
 * How the domains take part in the protocol. Composed once by the composition root, as lists run
 * in order, and frozen: the provider receives its configuration once (node-oidc-provider freezes it).
 */
export interface ProviderHooks {
  /** Run in order on an account's claims; each may add some, the provider still masks by scope and claims. */
  readonly claimSources: readonly ClaimSource[];
  /** Last filter on claims leaving GLC, after the sources: only consented data (consent domain). */
  readonly releaseClaims: (accountId: string, clientId: string | undefined, claims: Claims) => Promise<Claims>;
  /** The account behind a protocol request, for the service asking if any (consent domain reads its consent along). */
  readonly loadAccount: (accountId: string, clientId: string | undefined) => Promise<Account | undefined>;
  /** What loadAccount reads, as queries the adapter joins to a token's read and to an authorization's session read (one round trip for both). */
  readonly accountAlong?: ReadAlong;
  /** Returns the grant to reuse, or undefined to ask for consent again (consent domain). */
  readonly loadExistingGrant: NonNullable<Configuration['loadExistingGrant']>;
  /** An account was used by a service (activity for the inactivity rule). */
  readonly onAccountUsed: readonly ((accountId: string) => Promise<void>)[];
  /** oidc-provider's own back-channel logout (RP-initiated logout) failed: to be retried (queue). */
  readonly onBackchannelFailed: readonly ((job: { clientId: string; accountId: string; sid: string }) => Promise<void>)[];
  /** A token response was sent (metrics), with the grant type of the request. */
  readonly onTokenIssued: readonly ((grantType: string) => void)[];
  /** A service obtained an authorization for the account: it knows it by `sub` (deleted-accounts API). */
  readonly onSubjectIssued: readonly ((accountId: string, clientId: string, sub: string) => Promise<void>)[];
  /** After a logout ended the session: the first hook returning a URL sends the browser there first (FranceConnect's logout). */
  readonly afterLogout: readonly ((
    ctx: KoaContextWithOIDC,
    info: { accountId: string; location: string },
  ) => Promise<string | undefined>)[];
}

/**
 * Applies the claim sources in order. Given `wanted`, a source runs only if one of the claims it
 * adds may leave (its scope was granted, or it was asked by name): otherwise its lookup, one query
 * on every userinfo and token, is useless.
 */
export async function applyClaimSources(
  sources: readonly ClaimSource[],
  accountId: string,
  claims: Claims,
  wanted?: (claim: string) => boolean,
): Promise<Claims> {
  let out = claims;
  for (const source of sources) if (!wanted || source.claims.some(wanted)) out = await source.add(accountId, out);
  return out;
}

export interface ProviderDeps {
  config: Config;
  db: Db;
  log: Logger;
  secrets: Secrets;
  clients: ClientStore;
  keys: KeyStore;
  hooks: ProviderHooks;
  revokedApiTokens: RevokedApiTokens;
  /** What every request crosses first (http/edge.ts): protocol paths reach the provider's app directly. */
  edge: readonly Koa.Middleware[];
  /** The time at which key states are read (staged rotation); now by default. */
  keysAt?: Date;
}

export { TTL } from './ttl.js';

const apiTokenVerifiers = new WeakMap<Provider, ApiTokenVerifier>();
/** Checks an API access token against the keys this provider signs with. */
export function apiTokenVerifierOf(provider: Provider): ApiTokenVerifier {
  const verify = apiTokenVerifiers.get(provider);
  if (!verify) throw new Error('provider built without createProvider');
  return verify;
}

const FORM_POST_TITLE = '<title>Submitting Callback</title>';

function decodeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The provider's page in French; its script is left untouched (its hash is in the policy). */
function frenchFormPost(html: string): string {
  return html
    .replace('<html>', '<html lang="fr">')
    .replace(FORM_POST_TITLE, '<title>Retour vers le service – GrandLyon Connect</title>')
    .replace(
      "Your browser does not support JavaScript or you've disabled it.",
      'JavaScript est désactivé dans votre navigateur : cliquez sur « Continuer » pour revenir au service.',
    )
    .replace('<button autofocus type="submit">Continue</button>', '<button autofocus type="submit">Continuer</button>');
}

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

/**
 * The library builds a client object once per distinct metadata, but finds it again by hashing
 * the metadata's JSON (SHA-256) on every lookup: three times per code flow, once per token. The
 * client built from the store's cached metadata is kept here beside that metadata object; a change
 * (any instance, notified) or the cache's age limit gives a new object, hence a new lookup.
 */
function reuseBuiltClients(provider: Provider, clients: ClientStore): void {
  type Client = InstanceType<Provider['Client']>;
  const find = provider.Client.find.bind(provider.Client);
  const built = new WeakMap<object, Client>();
  provider.Client.find = async (id: string): Promise<Client | undefined> => {
    const before = typeof id === 'string' ? clients.cachedMetadata(id) : undefined;
    const known = before && built.get(before);
    if (known) return known;
    const client = await find(id);
    // Kept only if the same cached metadata was current before and after: then it is what the
    // library read (a change in between replaces the cached object).
    if (client && before && clients.cachedMetadata(id) === before) built.set(before, client);
    return client;
  };
}

/**
 * Two rules of the registration oidc-provider leaves open:
 * - client_secret_basic and client_secret_post are interchangeable there; here a service must
 *   authenticate the way it registered (RFC 7591 token_endpoint_auth_method). The provider
 *   compares the secret inside its request context (Provider.ctx): the check goes there.
 * - client_credentials could carry openid/profile/…; it gives API scopes only.
 */
function enforceRegistration(provider: Provider): void {
  const compare = provider.Client.prototype.compareClientSecret;
  provider.Client.prototype.compareClientSecret = function (this: InstanceType<Provider['Client']>, secret: string) {
    const ctx = Provider.ctx;
    if (ctx?.oidc) {
      const used = ctx.oidc.params?.client_secret !== undefined ? 'client_secret_post' : 'client_secret_basic';
      if (used !== this.clientAuthMethod) {
        throw new errors.InvalidClientAuth(`the client is registered with ${this.clientAuthMethod}, not ${used}`);
      }
    }
    return compare.call(this, secret);
  };
  const save = provider.ClientCredentials.prototype.save;
  provider.ClientCredentials.prototype.save = function (this: InstanceType<Provider['ClientCredentials']>) {
    // The scope asked, not only the one kept: the API's resource server silently drops the others.
    const asked = Provider.ctx?.oidc?.params?.scope;
    const refused = `${String(this.scope ?? '')} ${typeof asked === 'string' ? asked : ''}`
      .split(' ')
      .filter((scope) => scope && !CLIENT_CREDENTIALS_SCOPES.includes(scope));
    if (refused.length) throw new errors.InvalidScope('client_credentials gives API scopes only', refused.join(' '));
    return save.call(this);
  };
}

export async function createProvider(deps: ProviderDeps): Promise<Provider> {
  const { config, db, log, secrets, clients, keys, hooks } = deps;
  const jwks = await keys.privateJwks(deps.keysAt);

  /**
   * The ID token carries the consented claims only for a service registered with
   * --claims-in-id-token; otherwise sub and what the claims parameter asked for the ID token
   * (OpenID Connect Core §5.4: scope claims go to userinfo when an access token is issued).
   */
  async function idTokenClaims(
    clientId: string | undefined,
    claims: Claims,
    requested: Record<string, unknown> | undefined,
  ): Promise<Claims> {
    if (clientId && (await clients.claimsInIdToken(clientId))) return claims;
    const asked = new Set(Object.keys(requested ?? {}));
    return Object.fromEntries(Object.entries(claims).filter(([name]) => name === 'sub' || asked.has(name)));
  }

  const configuration: Configuration = {
    adapter: createAdapterClass(db, clients, hooks.accountAlong),
    jwks: { keys: withNodeEs256Signing(jwks.keys) } as Configuration['jwks'],
    cookies: {
      // The library passes it to the `cookies` package, which takes a Keygrip-shaped object as well as an array.
      keys: secrets.cookieKeys as unknown as string[],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
      names: { session: 'glc.session', interaction: 'glc.interaction', resume: 'glc.resume' },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: SUPPORTED_SCOPES,
    // Scope claims plus the standalone protocol claims (acr, amr, auth_time, sid): a service can
    // see that a login went through FranceConnect (acr eidas1, amr fc).
    claims: {
      ...SCOPE_CLAIMS,
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    } as unknown as Configuration['claims'],
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
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      subjectFor(secrets, client as typeof client & { glc_sector?: string }, accountId),
    extraClientMetadata: {
      properties: ['glc_sector'],
      validator: (_ctx, key, value) => {
        if (key === 'glc_sector' && value !== undefined && (typeof value !== 'string' || !SECTOR_PATTERN.test(value))) {
          throw new errors.InvalidClientMetadata('glc_sector must be a short lowercase name');
        }
      },
    },
    findAccount: async (ctx, id) => {
      const account = await hooks.loadAccount(id, ctx.oidc.client?.clientId);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async (use, scope, requested, rejected) => {
          const scopes = scope.split(' ');
          const wanted = (claim: string) =>
            scopes.some((sc) => (SCOPE_CLAIMS[sc as keyof typeof SCOPE_CLAIMS] as readonly string[] | undefined)?.includes(claim)) ||
            claim in (requested ?? {});
          let claims = await applyClaimSources(hooks.claimSources, id, accountClaims(account, id), wanted);
          // Defence in depth: oidc-provider masks rejected claims too.
          for (const r of rejected) delete claims[r];
          claims = await hooks.releaseClaims(id, ctx.oidc.client?.clientId, claims);
          if (use === 'id_token') claims = await idTokenClaims(ctx.oidc.client?.clientId, claims, requested);
          return claims as { sub: string };
        },
      };
    },
    loadExistingGrant: hooks.loadExistingGrant,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    // Scope claims in the ID token are decided per service (idTokenClaims above).
    conformIdTokenClaims: false,
    ttl: { ...TTL },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: { enabled: true, ack: EXTERNAL_SIGNING_ACK },
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
          // The confirmation form ends on the service's post-logout URI (the one requested, checked
          // by the provider against the registered ones), or first on FranceConnect's logout (this
          // is the provider's own request context: the app's allowances are not here).
          const postLogout = ctx.oidc.params?.post_logout_redirect_uri;
          allowFormTargets(ctx, [config.franceConnect.issuer, typeof postLogout === 'string' ? postLogout : undefined]);
          ctx.type = 'html';
          ctx.body = renderView('logout/confirm.njk', { form, clientName: ctx.oidc.client?.clientName });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderView('logout/done.njk', { clientName: ctx.oidc.client?.clientName });
        },
      },
      // Client-credentials tokens are for GLC's own API (api-tokens.ts); nothing else is a resource.
      resourceIndicators: apiResourceIndicators(config.issuer),
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
      if (status >= 500)
        log.error(
          { requestId: ctx.state?.requestId, err: { name: (error as Error).name, message: (error as Error).message } },
          'provider error',
        );
      ctx.type = 'html';
      ctx.body = errorPage(ctx, out as { error: string; error_description?: string });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  for (const middleware of deps.edge) provider.use(middleware);
  // Same proxy rule as GLC's app (client IP for its rate limits and logs, https behind TLS offload).
  trustProxies(provider, config.trustProxyHops);
  if (config.production) forceSecureCookies(provider);

  enforceRegistration(provider);
  reuseBuiltClients(provider, clients);
  const verifyApiToken = createApiTokenVerifier(config.issuer, jwks as { keys: JWK[] });
  apiTokenVerifiers.set(provider, verifyApiToken);
  providerApiTokens(provider, verifyApiToken, deps.revokedApiTokens);

  provider.on('server_error', (ctx, err) => {
    log.error({ requestId: ctx.state?.requestId, err: { name: err.name, message: err.message } }, 'oidc server_error');
  });
  const onAny = provider.on.bind(provider) as (event: string, listener: (...args: unknown[]) => void) => void;
  for (const event of [
    'grant.error',
    'authorization.error',
    'introspection.error',
    'revocation.error',
    'userinfo.error',
    'end_session.error',
    'backchannel.error',
  ]) {
    onAny(event, (...args: unknown[]) => {
      const err = args.find((a): a is errors.OIDCProviderError => a instanceof Error) as
        (Error & { error?: string; statusCode?: number }) | undefined;
      const level = err?.statusCode && err.statusCode >= 500 ? 'error' : 'info';
      log[level](
        {
          event,
          error: err?.error ?? err?.name,
          description: (err as { error_description?: string } | undefined)?.error_description ?? (err?.error ? undefined : err?.message),
        },
        'oidc error',
      );
    });
  }
  // RP-initiated logout: oidc-provider sends the back-channel logouts itself, once; a failed one
  // goes to the durable queue, which retries it.
  provider.on('backchannel.error', (_ctx, _err, client, accountId, sid) => {
    if (!client || !accountId) return;
    for (const hook of hooks.onBackchannelFailed) {
      void hook({ clientId: client.clientId, accountId, sid: sid ?? '' }).catch((err: Error) =>
        log.error({ err: { message: err.message } }, 'back-channel logout not queued'),
      );
    }
  });
  // A service got an authorization (new login or reuse of the GLC session): activity, and the
  // service now knows the account by its sub.
  provider.on('authorization.success', (ctx) => {
    const accountId = ctx.oidc.session?.accountId;
    const client = ctx.oidc.client;
    if (!accountId || !client) return;
    for (const hook of hooks.onAccountUsed) void hook(accountId).catch(() => undefined);
    const sub = subjectFor(secrets, client as typeof client & { glc_sector?: string }, accountId);
    for (const hook of hooks.onSubjectIssued) void hook(accountId, client.clientId, sub).catch(() => undefined);
  });
  provider.on('grant.success', (ctx) => {
    for (const hook of hooks.onTokenIssued) hook(String(ctx.oidc.params?.grant_type ?? ''));
    const accountId = ctx.oidc.entities.RefreshToken?.accountId ?? ctx.oidc.entities.AuthorizationCode?.accountId;
    if (accountId) for (const hook of hooks.onAccountUsed) void hook(accountId).catch(() => undefined);
  });
  // oidc-provider's auto-submitted page (response_mode=form_post, success or error, and a logout
  // without session) posts to the service or to GLC, then GLC redirects to the service: browsers
  // check form-action on each hop, so the page allows exactly that destination's origin, and
  // script-src only the hash of its own script.
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body !== 'string' || !ctx.body.includes(FORM_POST_TITLE)) return;
    const action = decodeHtml(/<form method="post" action="([^"]*)"/.exec(ctx.body)?.[1] ?? '');
    const client = ctx.oidc?.client;
    const targets: string[] = [];
    if (client && action && client.redirectUriAllowed(action)) targets.push(action);
    const postLogout = ctx.oidc?.params?.post_logout_redirect_uri;
    if (ctx.oidc?.route === 'end_session' && client && typeof postLogout === 'string' && client.postLogoutRedirectUriAllowed(postLogout))
      targets.push(postLogout);
    // Exactly these destinations: not the defaults of GLC's pages (FranceConnect has no business here).
    ctx.state.formTargets = [];
    allowFormTargets(ctx, targets);
    ctx.body = frenchFormPost(ctx.body);
  });
  // A logout that ended the session may continue elsewhere first (FranceConnect's own logout).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/session/end/confirm' || ctx.status !== 303 || !hooks.afterLogout.length) return;
    const session = ctx.oidc?.session as { destroyed?: boolean; accountId?: string } | undefined;
    if (!session?.destroyed || !session.accountId) return;
    const info = { accountId: session.accountId, location: ctx.response.get('Location') };
    for (const hook of hooks.afterLogout) {
      const target = await hook(ctx as KoaContextWithOIDC, info);
      if (target) return ctx.redirect(target);
    }
  });
  return provider;
}

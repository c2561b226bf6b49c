// Rules for registering services (relying parties). The glc CLI is its only caller today.
import { z } from 'zod';
import { randomToken } from '../secrets.js';
import { CONSENTABLE_CLAIMS, SUPPORTED_SCOPES, claimsOfScopes } from '../oidc/claims.js';
import { SECTOR_PATTERN } from '../oidc/subjects.js';
import type { ClientStore } from './store.js';

export class ClientInputError extends Error {}

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
const MAX_LOGO_BYTES = 256 * 1024;

export const clientRegistrationSchema = z.object({
  name: z.string().trim().min(1).max(120),
  organisation: z.string().trim().min(1).max(120).optional(),
  redirectUris: z.array(z.string()).default([]),
  postLogoutRedirectUris: z.array(z.string()).default([]),
  backchannelLogoutUri: z.string().optional(),
  scope: z.string().trim().default('openid profile email'),
  authMethod: z.enum(AUTH_METHODS).default('client_secret_basic'),
  jwksUri: z.string().optional(),
  subjectType: z.enum(['pairwise', 'public']).default('pairwise'),
  grantTypes: z.array(z.enum(GRANT_TYPES)).default(['authorization_code']),
  userinfoSignedAlg: z.enum(['ES256', 'RS256']).optional(),
  logo: z.object({ data: z.instanceof(Buffer), type: z.string() }).optional(),
  claimsRequired: z.array(z.string()).optional(),
  claimsOptional: z.array(z.string()).optional(),
  purpose: z.string().trim().max(500).optional(),
  /** Consented claims in the ID token too (not only userinfo). */
  claimsInIdToken: z.boolean().default(false),
  /** Pairwise subjects of their own, separate from other services on the same host. */
  sector: z.string().regex(SECTOR_PATTERN, 'a short lowercase name: letters, digits, dot, dash').optional(),
});
export type ClientRegistration = z.input<typeof clientRegistrationSchema>;

export interface ClientUpdate {
  name?: string;
  organisation?: string;
  purpose?: string;
  logo?: { data: Buffer; type: string };
  claimsRequired?: string[];
  claimsOptional?: string[];
  claimsInIdToken?: boolean;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string;
  scope?: string;
  grantTypes?: ('authorization_code' | 'refresh_token' | 'client_credentials')[];
  userinfoSignedAlg?: 'ES256' | 'RS256';
}

/** The oidc-provider metadata as stored by add()/update(). */
interface RegisteredMetadata {
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  backchannel_logout_uri?: string;
  scope: string;
  token_endpoint_auth_method: 'client_secret_basic';
  jwks_uri?: string;
  subject_type: 'pairwise' | 'public';
  grant_types: ('authorization_code' | 'refresh_token' | 'client_credentials')[];
  userinfo_signed_response_alg?: 'ES256' | 'RS256';
  glc_sector?: string;
}

function checkUri(uri: string, what: string, production: boolean): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ClientInputError(`${what}: « ${uri} » is not an absolute URL`);
  }
  if (url.hash) throw new ClientInputError(`${what}: « ${uri} » must not contain a fragment`);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (loopback || !production))) {
    throw new ClientInputError(`${what}: « ${uri} » must use https`);
  }
}

export function detectLogoType(data: Buffer): string {
  if (data.length > MAX_LOGO_BYTES) throw new ClientInputError(`logo: at most ${MAX_LOGO_BYTES / 1024} KiB`);
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data[0] === 0xff && data[1] === 0xd8) return 'image/jpeg';
  throw new ClientInputError('logo: PNG or JPEG expected (SVG is refused: it can carry scripts)');
}

export function createClientService(store: ClientStore, options: { production: boolean }) {
  function buildMetadata(input: z.output<typeof clientRegistrationSchema>) {
    const scopes = input.scope.split(/\s+/).filter(Boolean);
    const unknown = scopes.filter((s) => !SUPPORTED_SCOPES.includes(s));
    if (unknown.length)
      throw new ClientInputError(`scope: unknown scope(s) ${unknown.join(', ')}; supported: ${SUPPORTED_SCOPES.join(' ')}`);
    const interactive = input.grantTypes.includes('authorization_code');
    if (input.grantTypes.includes('refresh_token') && !interactive)
      throw new ClientInputError('grant-type: refresh_token needs authorization_code');
    if (scopes.includes('offline_access') && !input.grantTypes.includes('refresh_token'))
      throw new ClientInputError('scope: offline_access needs --grant-type refresh_token');
    for (const api of ['deleted_accounts:read', 'statistics:read'])
      if (scopes.includes(api) && !input.grantTypes.includes('client_credentials'))
        throw new ClientInputError(`scope: ${api} needs --grant-type client_credentials`);
    if (interactive && !scopes.includes('openid'))
      throw new ClientInputError('scope: openid is required for a client that logs residents in');
    if (interactive && input.redirectUris.length === 0)
      throw new ClientInputError('redirect-uri: at least one is required with authorization_code');
    if (input.authMethod === 'none' && input.grantTypes.includes('client_credentials'))
      throw new ClientInputError('auth-method: a public client cannot use client_credentials');
    if (input.authMethod === 'private_key_jwt' && !input.jwksUri) throw new ClientInputError('jwks-uri: required with private_key_jwt');
    input.redirectUris.forEach((u) => checkUri(u, 'redirect-uri', options.production));
    input.postLogoutRedirectUris.forEach((u) => checkUri(u, 'post-logout-redirect-uri', options.production));
    if (input.backchannelLogoutUri) checkUri(input.backchannelLogoutUri, 'backchannel-logout-uri', options.production);
    if (input.jwksUri) checkUri(input.jwksUri, 'jwks-uri', options.production);
    if (interactive && input.subjectType === 'pairwise') {
      const hosts = new Set(input.redirectUris.map((u) => new URL(u).host));
      if (hosts.size > 1)
        throw new ClientInputError('redirect-uri: a pairwise client needs all its redirect URIs on one host (one sector)');
    }
    return {
      scopes,
      metadata: {
        redirect_uris: input.redirectUris,
        post_logout_redirect_uris: input.postLogoutRedirectUris,
        response_types: interactive ? ['code'] : [],
        grant_types: input.grantTypes,
        scope: scopes.join(' '),
        token_endpoint_auth_method: input.authMethod,
        subject_type: input.subjectType,
        ...(input.backchannelLogoutUri && {
          backchannel_logout_uri: input.backchannelLogoutUri,
          backchannel_logout_session_required: true,
        }),
        ...(input.jwksUri && { jwks_uri: input.jwksUri }),
        ...(input.userinfoSignedAlg && { userinfo_signed_response_alg: input.userinfoSignedAlg }),
        ...(input.sector && { glc_sector: input.sector }),
      },
    };
  }

  function checkClaims(scopes: string[], required: string[], optional: string[]): void {
    const available = claimsOfScopes(scopes);
    for (const claim of [...required, ...optional]) {
      if (!(CONSENTABLE_CLAIMS as readonly string[]).includes(claim)) throw new ClientInputError(`claims: unknown claim ${claim}`);
      if (!available.has(claim)) throw new ClientInputError(`claims: ${claim} is not released by the scopes ${scopes.join(' ')}`);
    }
    const both = required.filter((c) => optional.includes(c));
    if (both.length) throw new ClientInputError(`claims: ${both.join(', ')} cannot be both required and optional`);
  }

  return {
    async add(raw: ClientRegistration): Promise<{ clientId: string; clientSecret: string | null }> {
      const parsed = clientRegistrationSchema.safeParse(raw);
      if (!parsed.success) throw new ClientInputError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const input = parsed.data;
      const { scopes, metadata } = buildMetadata(input);
      // Without an explicit list, every personal claim of the scopes is required.
      const claimsRequired =
        input.claimsRequired ??
        [...claimsOfScopes(scopes)].filter(
          (c) => (CONSENTABLE_CLAIMS as readonly string[]).includes(c) && !(input.claimsOptional ?? []).includes(c),
        );
      const claimsOptional = input.claimsOptional ?? [];
      checkClaims(scopes, claimsRequired, claimsOptional);
      const clientId = `glc_${randomToken(16)}`;
      const clientSecret = input.authMethod.startsWith('client_secret') ? randomToken(32) : null;
      await store.insert({
        clientId,
        name: input.name,
        organisation: input.organisation ?? null,
        metadata,
        secret: clientSecret,
        logo: input.logo ?? null,
        claimsRequired,
        claimsOptional,
        purpose: input.purpose ?? null,
        claimsInIdToken: input.claimsInIdToken,
      });
      return { clientId, clientSecret };
    },

    /**
     * Changes a registered service. A change of the data it asks for (claims, purpose) is a new
     * request version: residents are asked again. Subject type and authentication method cannot
     * change (the subs services know, and their secrets, would break).
     */
    async update(clientId: string, changes: ClientUpdate): Promise<void> {
      const client = await store.find(clientId);
      if (!client) throw new ClientInputError(`client ${clientId} not found`);
      const m = client.metadata as unknown as RegisteredMetadata;
      const parsed = clientRegistrationSchema.safeParse({
        name: changes.name ?? client.name,
        organisation: changes.organisation ?? client.organisation ?? undefined,
        redirectUris: changes.redirectUris ?? m.redirect_uris,
        postLogoutRedirectUris: changes.postLogoutRedirectUris ?? m.post_logout_redirect_uris ?? [],
        backchannelLogoutUri: changes.backchannelLogoutUri ?? m.backchannel_logout_uri,
        scope: changes.scope ?? m.scope,
        authMethod: m.token_endpoint_auth_method,
        jwksUri: m.jwks_uri,
        subjectType: m.subject_type,
        grantTypes: changes.grantTypes ?? m.grant_types,
        userinfoSignedAlg: changes.userinfoSignedAlg ?? m.userinfo_signed_response_alg,
        // Never changed by an update: every sub the service knows would change.
        sector: m.glc_sector,
      });
      if (!parsed.success) throw new ClientInputError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const { scopes, metadata } = buildMetadata(parsed.data);
      const required = changes.claimsRequired ?? client.claims_required;
      const optional = changes.claimsOptional ?? client.claims_optional;
      checkClaims(scopes, required, optional);
      const requestChanged = changes.claimsRequired !== undefined || changes.claimsOptional !== undefined || changes.purpose !== undefined;
      await store.update(clientId, {
        name: changes.name,
        organisation: changes.organisation,
        purpose: changes.purpose,
        logo: changes.logo,
        metadata,
        claimsRequired: required,
        claimsOptional: optional,
        bumpRequestVersion: requestChanged,
        claimsInIdToken: changes.claimsInIdToken,
      });
    },

    async rotateSecret(clientId: string): Promise<string> {
      const client = await store.find(clientId);
      if (!client) throw new ClientInputError(`client ${clientId} not found`);
      if (!client.secret_encrypted) throw new ClientInputError(`client ${clientId} does not authenticate with a secret`);
      const secret = randomToken(32);
      await store.setSecret(clientId, secret);
      return secret;
    },

    async setEnabled(clientId: string, enabled: boolean): Promise<void> {
      if (!(await store.setEnabled(clientId, enabled))) throw new ClientInputError(`client ${clientId} not found`);
    },

    async show(clientId: string) {
      const client = await store.find(clientId);
      if (!client) throw new ClientInputError(`client ${clientId} not found`);
      const { logo, secret_encrypted, ...rest } = client;
      return { ...rest, has_secret: secret_encrypted !== null, has_logo: logo !== null };
    },

    list: () => store.list(),
  };
}
export type ClientService = ReturnType<typeof createClientService>;

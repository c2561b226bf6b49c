// An API access token (opaque) expired in place; and API access tokens as GLC issued them until 1 December 2026 (JWTs, RFC 9068, ES256; still accepted
// for their last minutes after an upgrade, oidc/api-tokens.ts): signed with GLC's own ES256 key,
// or with a stranger's key under GLC's kid, with any claim changed.
import { randomUUID } from 'node:crypto';
import { generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import type { TestGlc } from './glc.js';

export async function legacyApiToken(
  glc: TestGlc,
  clientId: string,
  changes: JWTPayload = {},
  options: { header?: Record<string, unknown>; strangerKey?: boolean } = {},
): Promise<string> {
  const { keys } = await glc.services.keys.privateJwks();
  const own = keys.find((k) => k.alg === 'ES256');
  if (!own) throw new Error('no ES256 key');
  const key = options.strangerKey ? (await generateKeyPair('ES256')).privateKey : await importJWK(own, 'ES256');
  const issuer = glc.config.issuer;
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    jti: randomUUID(),
    iss: issuer,
    aud: `${issuer}/api`,
    sub: clientId,
    client_id: clientId,
    scope: 'deleted_accounts:read',
    iat,
    exp: iat + 600,
  };
  return new SignJWT({ ...claims, ...changes })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: own.kid, ...options.header })
    .sign(key);
}

/** Changes a claim of an issued (opaque) API token where it is stored: by default, its expiry to a second ago. */
export async function alterApiToken(
  glc: TestGlc,
  token: string,
  claim: { exp: number } | { aud: string } = { exp: Math.floor(Date.now() / 1000) - 1 },
): Promise<void> {
  const [name, value] = Object.entries(claim)[0]!;
  const { numUpdatedRows } = await glc.services.db
    .updateTable('oidc_payloads')
    .set((eb) => ({ payload: eb.fn('jsonb_set', [eb.ref('payload'), eb.val(`{${name}}`), eb.val(JSON.stringify(value))]) }))
    .where('model', '=', 'ClientCredentials')
    .where('id', '=', token)
    .executeTakeFirstOrThrow();
  if (numUpdatedRows !== 1n) throw new Error('no such API token');
}

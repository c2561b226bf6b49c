// GLC's API access tokens (JWTs) re-signed with changed claims: with GLC's own current key (to
// test what the API checks besides the signature), or with a stranger's key under GLC's kid.
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import type { TestGlc } from './glc.js';

export async function resignApiToken(
  glc: TestGlc,
  token: string,
  changes: JWTPayload,
  options: { header?: Record<string, unknown>; strangerKey?: boolean } = {},
): Promise<string> {
  const header = decodeProtectedHeader(token);
  const { keys } = await glc.services.keys.privateJwks();
  const own = keys.find((k) => k.kid === header.kid);
  if (!own) throw new Error('the token was not signed with a published key');
  const key = options.strangerKey ? (await generateKeyPair('ES256')).privateKey : await importJWK(own, 'ES256');
  return new SignJWT({ ...decodeJwt(token), ...changes })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid, ...options.header })
    .sign(key);
}

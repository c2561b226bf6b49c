// ES256 signed by node:crypto through the library's ExternalSigningKey: the signature must be a
// JWS signature (r‖s, not DER) that any JOSE library verifies with the published key.
import { describe, expect, it } from 'vitest';
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';
import { withNodeEs256Signing } from '../../src/oidc/node-signing-key.js';

async function privateJwk(alg: 'ES256' | 'RS256', kid: string) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 2048 }) });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid };
}

describe('withNodeEs256Signing', () => {
  it('wraps the private ES256 key, leaves RSA keys to the library', async () => {
    const ec = await privateJwk('ES256', 'es256-test');
    const rsa = await privateJwk('RS256', 'rs256-test');
    const [signer, untouched] = withNodeEs256Signing([ec, rsa]);
    expect(signer).toBeInstanceOf(ExternalSigningKey);
    expect(untouched).toBe(rsa);
    const key = signer as ExternalSigningKey;
    // What /jwks publishes: the public part only, same kid and algorithm.
    expect({ kid: key.kid, alg: key.alg, kty: key.kty, crv: key.crv, x: key.x, y: key.y, use: key.use }).toEqual({
      kid: 'es256-test',
      alg: 'ES256',
      kty: 'EC',
      crv: 'P-256',
      x: ec.x,
      y: ec.y,
      use: 'sig',
    });
  });

  it('signs as a JWS: verified by jose with the public key, and byte-compatible with jose’s own signing', async () => {
    const ec = await privateJwk('ES256', 'es256-test');
    const key = withNodeEs256Signing([ec])[0] as ExternalSigningKey;
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'es256-test' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'service', jti: 'abc' })).toString('base64url');
    const signature = Buffer.from(await key.sign(Buffer.from(`${header}.${payload}`)));
    expect(signature).toHaveLength(64); // r‖s, 32 bytes each; DER would be 70 to 72
    const { x, y, kty, crv } = ec;
    const publicKey = await importJWK({ x, y, kty, crv }, 'ES256');
    const verified = await compactVerify(`${header}.${payload}.${signature.toString('base64url')}`, publicKey);
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual({ sub: 'service', jti: 'abc' });
    // jose's own signature with the same key has the same form.
    const reference = await new CompactSign(new TextEncoder().encode('x'))
      .setProtectedHeader({ alg: 'ES256' })
      .sign(await importJWK(ec, 'ES256'));
    expect(Buffer.from(reference.split('.')[2]!, 'base64url')).toHaveLength(64);
  });
});

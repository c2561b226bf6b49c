// ES256 signatures with node:crypto on the calling thread, through the library's own extension
// point for keys held elsewhere (ExternalSigningKey, features.externalSigningSupport). The
// library otherwise signs through WebCrypto and jose: for an ES256 JWT that is about 200 µs of
// the main thread per signature against about 90 µs here (job, promise and copies cost more than
// the P-256 signature itself). Every client-credentials token is an ES256 JWT (oidc/api-tokens.ts).
// RSA keys stay with the library: an RSA-3072 signature (ID tokens) is milliseconds of work that
// WebCrypto runs off the main thread.
import { createPrivateKey, createPublicKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ExternalSigningKey } from 'oidc-provider';
import type { JWK } from 'jose';

/** The library's version string for the experimental feature this relies on (exact versions pinned). */
export const EXTERNAL_SIGNING_ACK = 'experimental-01';

class NodeEs256Key extends ExternalSigningKey {
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly #kid: string | undefined;

  constructor(jwk: JWK) {
    super();
    this.#private = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    this.#public = createPublicKey(this.#private);
    this.#kid = jwk.kid;
  }

  override get kid(): string | undefined {
    return this.#kid;
  }

  override get alg(): string {
    return 'ES256';
  }

  override keyObject(): KeyObject {
    return this.#public;
  }

  // JWS wants r‖s (IEEE P1363), not DER.
  override async sign(data: Uint8Array): Promise<Buffer> {
    return sign('sha256', data, { key: this.#private, dsaEncoding: 'ieee-p1363' });
  }
}

/** The provider's signing keys: private P-256 keys for ES256 signed here, the others as they are. */
export function withNodeEs256Signing(keys: JWK[]): (JWK | ExternalSigningKey)[] {
  return keys.map((jwk) => (jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.alg === 'ES256' && jwk.d ? new NodeEs256Key(jwk) : jwk));
}

import { createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export type FcSigningAlg = 'ES256' | 'RS256';

export interface SigningKey {
  kid: string;
  alg: FcSigningAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * The mock's signing keys. FranceConnect names its HSM keys `pkcs11:<alg>:<label>`; the mock
 * mimics that so that client code never assumes a particular kid shape.
 */
export class SigningKeyRing {
  private readonly keys: SigningKey[] = [];

  private constructor(private readonly alg: FcSigningAlg) {}

  static async create(alg: FcSigningAlg): Promise<SigningKeyRing> {
    const ring = new SigningKeyRing(alg);
    await ring.rotate();
    return ring;
  }

  get current(): SigningKey {
    const key = this.keys.at(-1);
    if (!key) throw new Error('signing key ring is empty');
    return key;
  }

  /** Adds a key that signs from now on; returns its kid. */
  async rotate(): Promise<string> {
    const generation = this.keys.length + 1;
    const kid = generation === 1 ? `pkcs11:${this.alg}:hsm` : `pkcs11:${this.alg}:hsm-${generation}`;
    const { privateKey, publicKey } = await generateKeyPair(this.alg, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.alg, use: 'sig' };
    this.keys.push({ kid, alg: this.alg, privateKey, publicJwk });
    return kid;
  }

  /** What /jwks publishes: the current key and the one before it (tokens it signed still live). */
  publishedJwks(): { keys: JWK[] } {
    return {
      keys: this.keys
        .slice(-2)
        .reverse()
        .map((key) => key.publicJwk),
    };
  }

  /** Every key the mock ever signed with, to recognise its own ID tokens at logout. */
  verificationKeySet(): ReturnType<typeof createLocalJWKSet> {
    return createLocalJWKSet({ keys: this.keys.map((key) => key.publicJwk) });
  }
}

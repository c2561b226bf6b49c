// Signing keys: generated at first start, stored encrypted, published in the JWKS.
// The newest key of each algorithm signs; older ones keep verifying until retired.
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';

export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export interface KeyInfo { kid: string; alg: string; created_at: Date; retired_at: Date | null }

async function generate(alg: SigningAlg): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 3072 }) });
  const jwk = await exportJWK(privateKey);
  const kid = `${alg.toLowerCase()}-${(await calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

export function createKeyStore(db: Db, secrets: Secrets) {
  async function addKey(alg: SigningAlg): Promise<string> {
    const jwk = await generate(alg);
    await db.insertInto('signing_keys').values({ kid: jwk.kid, alg, private_jwk_encrypted: secrets.encrypt(JSON.stringify(jwk)) }).execute();
    return jwk.kid;
  }

  return {
    /** First start: one key per algorithm. Concurrent starts are harmless (different kids). */
    async ensure(): Promise<void> {
      const present = await db.selectFrom('signing_keys').select('alg').where('retired_at', 'is', null).distinct().execute();
      for (const alg of SIGNING_ALGS) {
        if (!present.some((k) => k.alg === alg)) await addKey(alg);
      }
    },

    /** A new key of each algorithm; it signs from the next provider reload on. */
    async rotate(): Promise<string[]> {
      const kids: string[] = [];
      for (const alg of SIGNING_ALGS) kids.push(await addKey(alg));
      return kids;
    },

    /** Retires the given key, or every key that no longer signs. The signing key cannot be retired. */
    async retire(kid?: string): Promise<string[]> {
      const active = await this.list(false);
      const signing = new Set(SIGNING_ALGS.map((alg) => active.find((k) => k.alg === alg)?.kid));
      const targets = active.filter((k) => (kid ? k.kid === kid : !signing.has(k.kid)));
      if (kid && targets.length === 0) throw new Error(`no active key ${kid}`);
      if (targets.some((k) => signing.has(k.kid))) throw new Error(`${kid} is the signing key of its algorithm: rotate first`);
      if (targets.length === 0) return [];
      await db.updateTable('signing_keys').set({ retired_at: new Date() }).where('kid', 'in', targets.map((k) => k.kid)).execute();
      return targets.map((k) => k.kid);
    },

    /** Newest first: oidc-provider signs with the first key of an algorithm. */
    async list(includeRetired: boolean): Promise<KeyInfo[]> {
      let q = db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'retired_at']).orderBy('created_at', 'desc').orderBy('kid');
      if (!includeRetired) q = q.where('retired_at', 'is', null);
      return q.execute();
    },

    async privateJwks(): Promise<{ keys: JWK[] }> {
      const rows = await db.selectFrom('signing_keys').select('private_jwk_encrypted').where('retired_at', 'is', null)
        .orderBy('created_at', 'desc').orderBy('kid').execute();
      return { keys: rows.map((r) => JSON.parse(secrets.decrypt(r.private_jwk_encrypted)) as JWK) };
    },

    /** Changes whenever a key is added or retired: instances compare it to reload their provider. */
    async version(): Promise<string> {
      const rows = await db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).orderBy('kid').execute();
      return rows.map((r) => r.kid).join(',');
    },
  };
}
export type KeyStore = ReturnType<typeof createKeyStore>;

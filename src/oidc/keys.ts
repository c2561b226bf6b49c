// Signing keys: generated at first start, stored encrypted, published in the JWKS.
// Staged rotation, so that no instance signs with a key another instance does not publish yet:
//   next     published at once by every instance (within one reload period), does not sign;
//   current  the key that signs for its algorithm (the newest activated one);
//   previous signed before, still published so that tokens it signed keep verifying;
//   retired  no longer published (`glc keys retire`).
// A rotated key becomes current only ACTIVATION_DELAY_MS after the rotation, longer than the
// reload period of every instance. Times are parameters (`now`) so tests never sleep.
import { exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import { advisoryLockKey, type Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { Secrets } from '../secrets.js';
import { TTL } from './ttl.js';

export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** How often each instance compares the keys in the database with its provider's. */
export const KEY_RELOAD_MS = 30_000;
/** Two reload periods: every instance has published the new key before any signs with it (and clocks may differ a little). */
export const KEY_ACTIVATION_DELAY_MS = 2 * KEY_RELOAD_MS;
/** A previous key can be retired once every instance stopped signing with it and the longest-lived token it signed (ID token) expired. */
export const KEY_RETIRE_AFTER_MS = KEY_RELOAD_MS + TTL.IdToken * 1000;

export type KeyState = 'next' | 'current' | 'previous' | 'retired';
export interface KeyInfo {
  kid: string;
  alg: string;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
  state: KeyState;
}

async function generate(alg: SigningAlg): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 3072 }) });
  const jwk = await exportJWK(privateKey);
  const kid = `${alg.toLowerCase()}-${(await calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

type Row = Omit<KeyInfo, 'state'>;
const STATE_ORDER: Record<KeyState, number> = { current: 0, next: 1, previous: 2, retired: 3 };

/** The state of each key at `now`; ordered current, next, previous, retired (newest first within each). */
export function keyStates(rows: Row[], now: Date): KeyInfo[] {
  const newestFirst = [...rows].sort(
    (a, b) =>
      b.activates_at.getTime() - a.activates_at.getTime() || b.created_at.getTime() - a.created_at.getTime() || (a.kid < b.kid ? -1 : 1),
  );
  const currentOf = new Map<string, string>();
  for (const k of newestFirst) {
    if (!k.retired_at && k.activates_at <= now && !currentOf.has(k.alg)) currentOf.set(k.alg, k.kid);
  }
  const state = (k: Row): KeyState =>
    k.retired_at ? 'retired' : k.activates_at > now ? 'next' : currentOf.get(k.alg) === k.kid ? 'current' : 'previous';
  return newestFirst.map((k) => ({ ...k, state: state(k) })).sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
}

/** One line of `glc keys list`. */
export function keyLine(k: KeyInfo): string {
  const when =
    k.state === 'retired'
      ? `retired ${k.retired_at!.toISOString()}`
      : k.state === 'next'
        ? `signs from ${k.activates_at.toISOString()}`
        : `signing since ${k.activates_at.toISOString()}`;
  return `${k.kid}  ${k.alg}  ${k.state.padEnd(8)}  ${when}`;
}

// Instances starting together on an empty database create the first keys one at a time.
const FIRST_KEYS_LOCK = advisoryLockKey('first-signing-keys');

export function createKeyStore(db: Db, secrets: Secrets) {
  async function addKey(alg: SigningAlg, activatesAt: Date, on: Kysely<Database> = db): Promise<string> {
    const jwk = await generate(alg);
    await on
      .insertInto('signing_keys')
      .values({ kid: jwk.kid, alg, private_jwk_encrypted: secrets.encrypt(JSON.stringify(jwk)), activates_at: activatesAt })
      .execute();
    return jwk.kid;
  }
  const rows = () => db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'activates_at', 'retired_at']).execute();

  return {
    /** First start: one key per algorithm, current at once (nothing else signs yet). */
    async ensure(now = new Date()): Promise<void> {
      const missing = async (on: Kysely<Database>) => {
        const present = await on.selectFrom('signing_keys').select('alg').where('retired_at', 'is', null).distinct().execute();
        return SIGNING_ALGS.filter((alg) => !present.some((k) => k.alg === alg));
      };
      if ((await missing(db)).length === 0) return; // every start but the first: no lock taken
      await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${FIRST_KEYS_LOCK}::bigint)`.execute(trx);
        for (const alg of await missing(trx)) await addKey(alg, now, trx);
      });
    },

    /** A new key of each algorithm: published from the next reload, signing from `activatesAt`. */
    async rotate(now = new Date(), delayMs = KEY_ACTIVATION_DELAY_MS): Promise<{ kids: string[]; activatesAt: Date }> {
      if (delayMs < KEY_ACTIVATION_DELAY_MS)
        throw new Error(`the delay must be at least ${KEY_ACTIVATION_DELAY_MS / 1000} s (two key reload periods)`);
      const activatesAt = new Date(now.getTime() + delayMs);
      const kids: string[] = [];
      for (const alg of SIGNING_ALGS) kids.push(await addKey(alg, activatesAt));
      return { kids, activatesAt };
    },

    /**
     * Stops publishing the given key, or every previous key old enough. Only a previous key
     * may go, and only KEY_RETIRE_AFTER_MS after its successor became current.
     */
    async retire(kid: string | undefined, now = new Date()): Promise<string[]> {
      const keys = keyStates(await rows(), now);
      const current = new Map(keys.filter((k) => k.state === 'current').map((k) => [k.alg, k]));
      const oldEnough = (k: KeyInfo) => now.getTime() - (current.get(k.alg)?.activates_at.getTime() ?? 0) >= KEY_RETIRE_AFTER_MS;
      if (kid) {
        const key = keys.find((k) => k.kid === kid && k.state !== 'retired');
        if (!key) throw new Error(`no published key ${kid}`);
        if (key.state !== 'previous')
          throw new Error(`${kid} is the ${key.state} key of its algorithm: only a previous key can be retired`);
        if (!oldEnough(key))
          throw new Error(`${kid} stopped signing less than ${KEY_RETIRE_AFTER_MS / 60_000} min ago: tokens it signed are still valid`);
      }
      const targets = keys.filter((k) => k.state === 'previous' && oldEnough(k) && (!kid || k.kid === kid));
      if (targets.length === 0) return [];
      await db
        .updateTable('signing_keys')
        .set({ retired_at: now })
        .where(
          'kid',
          'in',
          targets.map((k) => k.kid),
        )
        .execute();
      return targets.map((k) => k.kid);
    },

    /** Every key with its state at `now`: current first (oidc-provider signs with the first key of an algorithm). */
    async list(includeRetired: boolean, now = new Date()): Promise<KeyInfo[]> {
      const keys = keyStates(await rows(), now);
      return includeRetired ? keys : keys.filter((k) => k.state !== 'retired');
    },

    /** Published keys, current ones first: the provider signs with the first key of each algorithm. */
    async privateJwks(now = new Date()): Promise<{ keys: JWK[] }> {
      const order = (await this.list(false, now)).map((k) => k.kid);
      const stored = await db.selectFrom('signing_keys').select(['kid', 'private_jwk_encrypted']).where('retired_at', 'is', null).execute();
      const byKid = new Map(stored.map((r) => [r.kid, r.private_jwk_encrypted]));
      return { keys: order.filter((kid) => byKid.has(kid)).map((kid) => JSON.parse(secrets.decrypt(byKid.get(kid)!)) as JWK) };
    },

    /** Changes whenever a key is added, retired or changes state: instances compare it to reload their provider. */
    async version(now = new Date()): Promise<string> {
      return (await this.list(false, now))
        .map((k) => `${k.kid}:${k.state}`)
        .sort()
        .join(',');
    },
  };
}
export type KeyStore = ReturnType<typeof createKeyStore>;

// The deleted-accounts feed as Security Event Tokens (RFC 8417) of the OpenID RISC type
// account-purged, delivered by poll (RFC 8936): the rules — what a SET says, how it is signed,
// which SETs a service still has to acknowledge. No HTTP here (see routes.ts).
import { timingSafeEqual } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';
import type { KeyStore } from '../oidc/keys.js';
import type { DeletionStore, FeedRecord } from './store.js';

export const ACCOUNT_PURGED = 'https://schemas.openid.net/secevent/risc/event-type/account-purged';
/** Most SETs in one poll response; a service asking for more gets this many and moreAvailable. */
export const MAX_EVENTS = 1000;
export const DEFAULT_MAX_EVENTS = 100;

export interface SetError {
  err: string;
  description?: string;
}
export interface PollOutcome {
  sets: Record<string, string>;
  moreAvailable: boolean;
}
/** acknowledged: well-formed jtis received (ack and setErrs); errors: of them, setErrs; ignored: malformed or forged jtis. */
export interface AckOutcome {
  acknowledged: number;
  errors: number;
  ignored: number;
}

export interface SecurityEvents {
  /** The SET identifier of a record: stable, unique for this issuer, not guessable. */
  jtiOf(recordId: number): string;
  /** Acknowledgements (and setErrs, which acknowledge too) of a service, in one transaction. */
  acknowledge(clientId: string, ack: string[], setErrs: Record<string, SetError>, now: Date): Promise<AckOutcome>;
  /** The oldest SETs the service has not acknowledged, signed now. */
  pending(clientId: string, maxEvents: number, now: Date): Promise<PollOutcome>;
}

export interface SecurityEventsDeps {
  db: Db;
  config: Pick<Config, 'issuer'>;
  secrets: Pick<Secrets, 'hmac'>;
  keys: Pick<KeyStore, 'privateJwks'>;
}

export function createSecurityEvents(s: SecurityEventsDeps, store: DeletionStore): SecurityEvents {
  const mac = (id: number) => s.secrets.hmac('security-event-jti', String(id)).slice(0, 16);
  const jtiOf = (id: number) => `${id}-${mac(id)}`;
  const recordOf = (jti: string): number | undefined => {
    const m = /^(\d{1,15})-([0-9a-f]{16})$/.exec(jti);
    if (!m) return undefined;
    const id = Number(m[1]);
    return timingSafeEqual(Buffer.from(m[2]!), Buffer.from(mac(id))) ? id : undefined;
  };

  // Imported signing keys by kid (the private JWKS is read at every poll: a rotation applies at once).
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  async function signingKey(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
    // Newest first: the key GLC signs ID tokens with (src/oidc/keys.ts).
    const jwk = (await s.keys.privateJwks()).keys.find((k: JWK) => k.alg === 'ES256' && k.kty === 'EC' && k.crv === 'P-256');
    if (!jwk?.kid) throw new Error('no active ES256 signing key');
    if (!imported.has(jwk.kid)) imported.set(jwk.kid, importJWK(jwk, 'ES256'));
    return { kid: jwk.kid, key: await imported.get(jwk.kid)! };
  }

  /** RFC 8417 SET; the subject as RISC 1.0 / Shared Signals (sub_id) and as earlier RISC drafts (in the event). */
  function sign(record: FeedRecord, clientId: string, kid: string, key: CryptoKey | Uint8Array, now: Date): Promise<string> {
    const subject = { format: 'iss_sub', iss: s.config.issuer, sub: record.sub };
    return new SignJWT({
      toe: Math.floor(record.deleted_at.getTime() / 1000),
      sub_id: subject,
      events: { [ACCOUNT_PURGED]: { subject, reason: record.reason } },
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'secevent+jwt' })
      .setIssuer(s.config.issuer)
      .setAudience(clientId)
      .setJti(jtiOf(record.id))
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .sign(key);
  }

  return {
    jtiOf,

    async acknowledge(clientId, ack, setErrs, now) {
      const entries: { id: number; err?: string; description?: string }[] = [];
      let ignored = 0;
      for (const jti of ack) {
        const id = recordOf(jti);
        if (id === undefined) ignored++;
        else entries.push({ id });
      }
      for (const [jti, e] of Object.entries(setErrs)) {
        const id = recordOf(jti);
        if (id === undefined) ignored++;
        else entries.push({ id, err: e.err.slice(0, 100), description: e.description?.slice(0, 500) });
      }
      const outcome = { acknowledged: entries.length, errors: entries.filter((e) => e.err !== undefined).length, ignored };
      if (!entries.length) return outcome;
      await s.db.transaction().execute(async (trx) => {
        const mark = await store.lockStream(trx, clientId);
        await store.acknowledge(trx, clientId, mark, entries, now);
      });
      return outcome;
    },

    async pending(clientId, maxEvents, now) {
      if (maxEvents <= 0) return { sets: {}, moreAvailable: (await store.pendingEvents(clientId, 1)).length > 0 };
      const limit = Math.min(maxEvents, MAX_EVENTS);
      const rows = await store.pendingEvents(clientId, limit + 1);
      const page = rows.slice(0, limit);
      const sets: Record<string, string> = {};
      if (page.length) {
        const { kid, key } = await signingKey();
        const tokens = await Promise.all(page.map((r) => sign(r, clientId, kid, key, now)));
        page.forEach((r, i) => {
          sets[jtiOf(r.id)] = tokens[i]!;
        });
      }
      return { sets, moreAvailable: rows.length > limit };
    },
  };
}

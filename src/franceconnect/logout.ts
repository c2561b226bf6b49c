// Logging out of FranceConnect after GLC: the browser goes to FranceConnect's /session/end with
// the ID token of its FranceConnect session and a fresh state, and comes back to GLC, which
// checks the state. The ID token is kept encrypted for exactly this.
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { FranceConnectClient } from './client.js';
import type { FranceConnectStore } from './store.js';
import { ATTEMPT_TTL_MS, hashState, random64 } from './pending.js';

export interface LogoutDeps {
  store: FranceConnectStore;
  secrets: Secrets;
  log: Logger;
  client: FranceConnectClient;
}

export function createFranceConnectLogout(deps: LogoutDeps) {
  const { store, secrets, log, client } = deps;
  return {
    /**
     * After GLC ended a session: if this browser opened it through FranceConnect, where to send it
     * to log out of FranceConnect too (its ID token, a fresh state kept server-side with the final
     * destination). Undefined when there is nothing to do.
     */
    async startLogout(browserHash: string, accountId: string, returnTo: string | undefined, now: Date): Promise<string | undefined> {
      const row = await store.takeSession(browserHash, accountId, now);
      if (!row) return undefined;
      try {
        const state = random64();
        const url = await client.endSessionUrl({ idTokenHint: secrets.decrypt(row.id_token_encrypted), state });
        await store.insertAttempt({
          stateHash: hashState(state),
          nonce: random64(),
          browserHash,
          purpose: 'logout',
          returnTo: returnTo ?? null,
          expiresAt: new Date(now.getTime() + ATTEMPT_TTL_MS),
          now,
        });
        log.info({ event: 'franceconnect_logout_redirect' }, 'sent to FranceConnect logout');
        return url;
      } catch (err) {
        log.error({ event: 'franceconnect_logout_failed', reason: (err as Error).message }, 'FranceConnect logout could not start');
        return undefined;
      }
    },

    /** Back from FranceConnect's logout: the state must be the one this browser was given. */
    async finishLogout(state: unknown, browserHash: string, now: Date): Promise<{ ok: boolean; returnTo?: string }> {
      const value = typeof state === 'string' ? state : undefined;
      const row =
        value && /^[0-9a-f]{64}$/.test(value) ? await store.consumeState(hashState(value), browserHash, ['logout'], now) : undefined;
      if (!row) {
        log.warn({ event: 'franceconnect_logout_state_rejected' }, 'FranceConnect logout return with an unknown state');
        return { ok: false };
      }
      await store.transaction((trx) => store.finishAttempt(trx, row.id, now));
      return { ok: true, returnTo: row.return_to ?? undefined };
    },
  };
}

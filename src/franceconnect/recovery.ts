// A resident whose FranceConnect sub changed (a civil-status change changes it) and whose
// account has no password cannot prove it is theirs on the choice page: a reference goes to the
// help desk (SAU), who checks who they are out of band and relinks the account. Never on the
// resident's word or email alone.
import type { Logger } from '../log.js';
import type { FcIdentity } from './normalise.js';
import type { FranceConnectStore } from './store.js';
import { linkIdentity } from './linking.js';
import { hashSub, recoveryReference, RECOVERY_TTL_MS, type PendingChoice, type PendingRecovery } from './pending.js';

export type RecoveryRefusal =
  | 'unknown'
  | 'account_required'
  | 'account_mismatch'
  | 'account_unknown'
  | 'account_not_linked'
  | 'account_has_password'
  | 'sub_linked_elsewhere';

/**
 * The help desk’s side (`glc franceconnect recovery …`): the request behind a reference, and
 * relinking its account to the new sub once the resident’s identity has been checked. Needs no
 * FranceConnect client.
 */
export function createRecoveryDesk(store: FranceConnectStore, log: Logger) {
  const normalise = (reference: string) => reference.trim().toUpperCase();
  return {
    show: (reference: string, now: Date) => store.findRecovery(normalise(reference), now),

    /**
     * Links an account to the request’s new sub (the old one is replaced), certifies the new
     * identity, journals both sub hashes. A request opened from the choice page names no account:
     * the help desk gives it (an account linked to another sub, without password — one with a
     * password relinks itself on the choice page).
     */
    async resolve(
      reference: string,
      now: Date,
      accountId?: string,
    ): Promise<{ ok: true; accountId: string } | { ok: false; reason: RecoveryRefusal }> {
      const result = await store.transaction(
        async (trx): Promise<{ ok: true; accountId: string } | { ok: false; reason: RecoveryRefusal }> => {
          const request = await store.takeRecovery(trx, normalise(reference), now);
          if (!request) return { ok: false, reason: 'unknown' };
          if (request.account_id && accountId && accountId !== request.account_id) return { ok: false, reason: 'account_mismatch' };
          const target = request.account_id ?? accountId;
          if (!target) return { ok: false, reason: 'account_required' };
          const account = await store.accountForRecovery(trx, target);
          if (!account) return { ok: false, reason: 'account_unknown' };
          if (!request.account_id) {
            if (!account.linked_sub) return { ok: false, reason: 'account_not_linked' };
            if (account.password_hash) return { ok: false, reason: 'account_has_password' };
          }
          const other = await store.findLinkBySub(request.new_sub, trx);
          if (other && other.account_id !== target) return { ok: false, reason: 'sub_linked_elsewhere' };
          await linkIdentity(
            store,
            trx,
            { accountId: target, sub: request.new_sub, certify: (request.identity as unknown as FcIdentity | null) ?? undefined },
            now,
            {
              type: 'franceconnect_linked',
              detail: {
                method: 'help_desk',
                reference: request.reference,
                oldSubHash: account.linked_sub ? hashSub(account.linked_sub) : request.old_sub_hash,
                newSubHash: request.new_sub_hash,
              },
            },
          );
          await store.resolveRecovery(trx, request.reference, target, now);
          return { ok: true, accountId: target };
        },
      );
      log.info(
        { event: 'franceconnect_recovery_resolved', outcome: result.ok ? 'relinked' : result.reason },
        'FranceConnect recovery request handled',
      );
      return result;
    },
  };
}

/** The resident's side: the reference of a request, opened automatically or on their demand. */
export function createRecoveryRequests(store: FranceConnectStore, log: Logger) {
  return {
    /** An exact match with an account linked to another sub, without password: opened automatically. */
    async openForMatch(identity: FcIdentity, account: { id: string; linked_sub: string }, now: Date): Promise<string> {
      const opened = await store.openRecovery({
        reference: recoveryReference(),
        accountId: account.id,
        newSub: identity.sub,
        oldSubHash: hashSub(account.linked_sub),
        newSubHash: hashSub(identity.sub),
        identity,
        now,
        expiresAt: new Date(now.getTime() + RECOVERY_TTL_MS),
      });
      log.warn(
        { event: 'franceconnect_recovery_requested', reference: opened.reference, created: opened.created, match: 'exact' },
        'FranceConnect identity matches an account linked to another sub: left to the help desk',
      );
      return opened.reference;
    },

    /** The help-desk reference of a `recovery` outcome. */
    async referenceOf(pending: PendingRecovery, now: Date): Promise<string | undefined> {
      return (await store.findOpenRecovery(pending.accountId, pending.identity.sub, now))?.reference;
    },

    /**
     * From the choice page: « J’avais un compte créé avec FranceConnect, sans mot de passe ». No
     * account matched (a civil-status change changes the sub and the values): a reference for the
     * help desk, who finds the account and relinks it after checking who the resident is.
     */
    async requestAssistance(pending: PendingChoice, now: Date): Promise<string> {
      const opened = await store.openRecovery({
        reference: recoveryReference(),
        accountId: null,
        newSub: pending.identity.sub,
        oldSubHash: null,
        newSubHash: hashSub(pending.identity.sub),
        identity: pending.identity,
        now,
        expiresAt: new Date(now.getTime() + RECOVERY_TTL_MS),
      });
      log.warn(
        { event: 'franceconnect_recovery_requested', reference: opened.reference, created: opened.created, match: 'none' },
        'resident asked the help desk to find their FranceConnect account',
      );
      return opened.reference;
    },
  };
}

// Linking a FranceConnect identity to a GLC account, and what follows from a link: the
// certification of the six pivot fields, its journal entry, the account area's status, the
// export, unlinking. Every link goes through linkIdentity.
import type { Logger } from '../log.js';
import type { AccountStore } from '../accounts/store.js';
import type { AccountService } from '../accounts/service.js';
import { verifiedClaimsOf, type VerifiedClaims } from './certification.js';
import type { FcIdentity } from './normalise.js';
import type { Executor, FranceConnectStore } from './store.js';
import { FC_SESSION_TTL_MS, hashSub, type PendingChoice, type PendingLogin } from './pending.js';

/**
 * The one link sequence: link the sub (replacing an older one), certify the identity
 * FranceConnect vouched for with that sub, journal the event.
 */
export async function linkIdentity(
  store: FranceConnectStore,
  trx: Executor,
  link: { accountId: string; sub: string; certify: FcIdentity | undefined },
  now: Date,
  event: { type: string; detail?: Record<string, unknown> },
): Promise<void> {
  await store.upsertLink(trx, link.accountId, link.sub, now);
  if (link.certify?.sub === link.sub) await store.certify(trx, link.accountId, link.certify, now);
  await store.recordEvent(trx, link.accountId, event.type, event.detail ?? {});
}

export interface LinkingDeps {
  store: FranceConnectStore;
  accountStore: AccountStore;
  accounts: AccountService;
  log: Logger;
}

export function createLinking(deps: LinkingDeps) {
  const { store, accountStore, accounts, log } = deps;

  /**
   * Ends a FranceConnect round trip into an account: the attempt is consumed once, the identity
   * linked and certified, and the FranceConnect session kept for logout. Undefined if the attempt
   * was already used (a second tab, a replay).
   */
  async function finishRoundTrip(
    pending: PendingLogin,
    browserHash: string,
    now: Date,
    event: { type: string; detail: Record<string, unknown> },
    account: string | ((trx: Executor) => Promise<string>),
  ): Promise<string | undefined> {
    const done = await store.transaction(async (trx) => {
      if (!(await store.finishAttempt(trx, pending.id, now, pending.outcome))) return undefined;
      const id = typeof account === 'string' ? account : await account(trx);
      await linkIdentity(store, trx, { accountId: id, sub: pending.identity.sub, certify: pending.identity }, now, event);
      await store.insertSession(trx, {
        accountId: id,
        browserHash,
        idTokenEncrypted: pending.idTokenEncrypted,
        expiresAt: new Date(now.getTime() + FC_SESSION_TTL_MS),
        now,
      });
      return id;
    });
    if (done) await accountStore.touchActivity(done, now);
    return done;
  }

  return {
    finishRoundTrip,

    /** « J’ai déjà un compte »: the password proves the account is theirs, then the link is made. */
    async linkWithPassword(pending: PendingChoice, input: { email: string; password: string; ip: string }, browserHash: string, now: Date) {
      const result = await accounts.logIn(input, now);
      if (!result.ok) return result;
      const other = await store.findLinkBySub(pending.identity.sub);
      if (other && other.account_id !== result.account.id) return { ok: false as const, reason: 'linked_elsewhere' as const };
      // An account linked to an older sub (FranceConnect’s sub changed): relinked, both journaled.
      const previous = await store.findLinkByAccount(result.account.id);
      const relink = previous !== undefined && previous.sub !== pending.identity.sub;
      const detail = relink
        ? { method: 'password_relink', oldSubHash: hashSub(previous.sub), newSubHash: hashSub(pending.identity.sub) }
        : { method: 'password' };
      const accountId = await finishRoundTrip(pending, browserHash, now, { type: 'franceconnect_linked', detail }, result.account.id);
      if (!accountId) return { ok: false as const, reason: 'expired' as const };
      log.info({ event: 'franceconnect_linked', method: detail.method }, 'FranceConnect linked');
      return { ok: true as const, accountId };
    },

    /** Names of the fields certified by FranceConnect (read-only in the identity sheet). */
    async certifiedFields(accountId: string): Promise<Set<string>> {
      return new Set((await store.certifiedFields(accountId)).map((r) => r.field));
    },

    async verifiedClaims(accountId: string): Promise<VerifiedClaims | undefined> {
      return verifiedClaimsOf(await store.certifiedFields(accountId));
    },

    /** The resident's FranceConnect data for the account export (right of access). */
    async exportFor(accountId: string) {
      const [link, fields] = await Promise.all([store.findLinkByAccount(accountId), store.certifiedFields(accountId)]);
      return {
        linked: link !== undefined,
        linked_at: link?.linked_at.toISOString() ?? null,
        last_login_at: link?.last_login_at.toISOString() ?? null,
        certified: fields.map((f) => ({
          field: f.field,
          value: f.value,
          source: f.source,
          acr: f.acr,
          certified_at: f.certified_at.toISOString(),
        })),
      };
    },

    /** What the account area shows. */
    async status(accountId: string) {
      const [link, fields, account] = await Promise.all([
        store.findLinkByAccount(accountId),
        store.certifiedFields(accountId),
        accountStore.findById(accountId),
      ]);
      return {
        linked: link !== undefined,
        linkedAt: link?.linked_at,
        fields,
        canUnlink: link !== undefined && Boolean(account?.password_hash),
      };
    },

    /** Refused when FranceConnect is the only way to log in (no password). Values stay, as declared. */
    async unlink(accountId: string): Promise<{ ok: true } | { ok: false; reason: 'not_linked' | 'no_other_login' }> {
      const [link, account] = await Promise.all([store.findLinkByAccount(accountId), accountStore.findById(accountId)]);
      if (!link) return { ok: false, reason: 'not_linked' };
      if (!account?.password_hash) return { ok: false, reason: 'no_other_login' };
      await store.transaction(async (trx) => {
        await store.deleteLink(trx, accountId);
        await store.recordEvent(trx, accountId, 'franceconnect_unlinked');
      });
      log.info({ event: 'franceconnect_unlinked' }, 'FranceConnect unlinked');
      return { ok: true };
    },
  };
}
export type Linking = ReturnType<typeof createLinking>;

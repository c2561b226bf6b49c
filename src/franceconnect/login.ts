// Logging in with FranceConnect: the round trip (state and nonce, single use, bound to this
// browser), checking FranceConnect's answer, finding the account (known sub, exact pivot match,
// or the resident's choice), and each step the resident may take next — each accepting only the
// outcome it applies to (pending.ts).
import type { Selectable } from 'kysely';
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { AccountStore } from '../accounts/store.js';
import { FcProtocolError, type FranceConnectClient } from './client.js';
import { birthdateForms, identityFromUserinfo, pivotMatches, type DeclaredIdentity, type FcIdentity } from './normalise.js';
import type { FranceConnectStore } from './store.js';
import type { FranceConnectAttemptTable, FranceConnectPurpose } from './tables.js';
import { linkIdentity, type Linking } from './linking.js';
import type { createRecoveryRequests } from './recovery.js';
import {
  ATTEMPT_TTL_MS,
  FC_SESSION_TTL_MS,
  hashState,
  hashSub,
  pendingFrom,
  random64,
  type LoginOutcome,
  type PendingChoice,
  type PendingLink,
  type PendingLogin,
} from './pending.js';

type Attempt = Selectable<FranceConnectAttemptTable>;

/** What the resident is told, by category of FranceConnect error. */
export type FcErrorCategory = 'cancelled' | 'config' | 'unavailable' | 'rejected';

export type CallbackResult =
  | { kind: 'error'; category: FcErrorCategory; interactionUid?: string; purpose?: FranceConnectPurpose }
  | { kind: 'login'; interactionUid: string }
  | { kind: 'linked'; ok: boolean };

const CONFIG_ERRORS = new Set([
  'invalid_request',
  'invalid_scope',
  'invalid_acr',
  'unsupported_response_type',
  'unauthorized_client',
  'invalid_client',
]);
const UNAVAILABLE_ERRORS = new Set(['server_error', 'temporarily_unavailable']);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Where a verified identity leads, before it is recorded on the attempt. */
type Resolution =
  | { outcome: 'known' | 'recovery'; accountId: string }
  | { outcome: 'auto_linked'; accountId: string; declaredBefore: DeclaredIdentity | undefined }
  | { outcome: 'choose'; accountId: null };

export interface LoginDeps {
  store: FranceConnectStore;
  accountStore: AccountStore;
  secrets: Secrets;
  log: Logger;
  client: FranceConnectClient;
  /** Read at call time (tests flip it). */
  settings: { autoLink: boolean };
  linking: Linking;
  recovery: ReturnType<typeof createRecoveryRequests>;
}

export function createFranceConnectLogin(deps: LoginDeps) {
  const { store, accountStore, secrets, log, client, linking } = deps;

  async function start(
    purpose: FranceConnectPurpose,
    input: { browserHash: string; interactionUid?: string; accountId?: string },
    now: Date,
  ): Promise<string> {
    const state = random64();
    const nonce = random64();
    const url = await client.authorizationUrl({ state, nonce });
    await store.insertAttempt({
      stateHash: hashState(state),
      nonce,
      browserHash: input.browserHash,
      purpose,
      interactionUid: input.interactionUid ?? null,
      accountId: input.accountId ?? null,
      expiresAt: new Date(now.getTime() + ATTEMPT_TTL_MS),
      now,
    });
    log.info({ event: 'franceconnect_redirect', purpose }, 'sent to FranceConnect');
    return url;
  }

  function refuse(
    reason: string,
    attempt: Attempt | undefined,
    level: 'warn' | 'error' = 'warn',
    category: FcErrorCategory = 'rejected',
  ): CallbackResult {
    log[level]({ event: 'franceconnect_callback_rejected', reason, purpose: attempt?.purpose }, 'FranceConnect answer refused');
    return { kind: 'error', category, interactionUid: attempt?.interaction_uid ?? undefined, purpose: attempt?.purpose };
  }

  /** Links FranceConnect to the signed-in resident (account area). */
  async function linkFromAccountArea(attempt: Attempt, identity: FcIdentity, idTokenEncrypted: string, now: Date): Promise<CallbackResult> {
    const accountId = attempt.account_id!;
    const other = await store.findLinkBySub(identity.sub);
    if (other && other.account_id !== accountId) {
      log.info({ event: 'franceconnect_link_refused', reason: 'sub_linked_elsewhere' }, 'FranceConnect identity already linked');
      await store.transaction((trx) => store.finishAttempt(trx, attempt.id, now));
      return { kind: 'linked', ok: false };
    }
    await store.transaction(async (trx) => {
      await store.finishAttempt(trx, attempt.id, now);
      await linkIdentity(store, trx, { accountId, sub: identity.sub, certify: identity }, now, {
        type: 'franceconnect_linked',
        detail: { method: 'account_area' },
      });
      await store.insertSession(trx, {
        accountId,
        browserHash: attempt.browser_hash,
        idTokenEncrypted,
        expiresAt: new Date(now.getTime() + FC_SESSION_TTL_MS),
        now,
      });
    });
    log.info({ event: 'franceconnect_linked', method: 'account_area' }, 'FranceConnect linked');
    return { kind: 'linked', ok: true };
  }

  /**
   * Known sub → that account. Otherwise the accounts holding the six fields (after
   * normalisation), except those whose owner refused this identity (« Ce n’est pas mon compte »):
   * - exactly one, not linked: linked automatically when enabled (its declared values are kept
   *   for an undo), else the resident chooses;
   * - exactly one, linked to another sub (FranceConnect’s sub changed, or another person with the
   *   very same identity): never relinked automatically. With a password, the resident proves it
   *   on the choice page; without one, the help desk (SAU) handles it with a reference;
   * - none or several: the resident chooses (never a guess, never on email alone).
   */
  async function resolve(identity: FcIdentity, now: Date): Promise<Resolution> {
    const link = await store.findLinkBySub(identity.sub);
    if (link) return { outcome: 'known', accountId: link.account_id };
    const forms = [...birthdateForms(identity.pivot.birthdate, identity.idpBirthdate)];
    const matches = (await store.matchCandidates(forms, identity.pivot.birthcountry, hashSub(identity.sub))).filter((a) =>
      pivotMatches(a, identity),
    );
    if (matches.length !== 1) {
      if (matches.length > 1)
        log.info({ event: 'franceconnect_match_ambiguous', candidates: matches.length }, 'several accounts match: no automatic link');
      return { outcome: 'choose', accountId: null };
    }
    const match = matches[0]!;
    if (match.linked_sub !== null) {
      if (match.password_hash) return { outcome: 'choose', accountId: null };
      await deps.recovery.openForMatch(identity, { id: match.id, linked_sub: match.linked_sub }, now);
      return { outcome: 'recovery', accountId: match.id };
    }
    if (!deps.settings.autoLink) return { outcome: 'choose', accountId: null };
    const accountId = match.id;
    let declaredBefore: DeclaredIdentity | undefined;
    try {
      await store.transaction(async (trx) => {
        declaredBefore = await store.declaredIdentity(trx, accountId);
        await linkIdentity(store, trx, { accountId, sub: identity.sub, certify: identity }, now, {
          type: 'franceconnect_linked',
          detail: { method: 'automatic' },
        });
      });
    } catch {
      return { outcome: 'choose', accountId: null }; // linked meanwhile by a concurrent request
    }
    log.info({ event: 'franceconnect_linked', method: 'automatic' }, 'FranceConnect linked');
    return { outcome: 'auto_linked', accountId, declaredBefore };
  }

  return {
    startLogin: (input: { browserHash: string; interactionUid: string }, now: Date) => start('login', input, now),
    startLink: (input: { browserHash: string; accountId: string }, now: Date) => start('link', input, now),

    /** Back from FranceConnect: error first, then state (single use, this browser), iss, code, tokens, userinfo. */
    async handleCallback(query: Record<string, unknown>, browserHash: string, now: Date): Promise<CallbackResult> {
      const state = str(query.state);
      const error = str(query.error);
      const attempt =
        state && /^[0-9a-f]{64}$/.test(state) ? await store.consumeState(hashState(state), browserHash, ['login', 'link'], now) : undefined;

      if (error !== undefined) {
        const code = /^[a-z_]{1,40}$/.test(error) ? error : 'unknown';
        const category: FcErrorCategory = code === 'access_denied' ? 'cancelled' : UNAVAILABLE_ERRORS.has(code) ? 'unavailable' : 'config';
        const entry = { event: 'franceconnect_error', error: code, stateMatched: attempt !== undefined, purpose: attempt?.purpose };
        if (category === 'cancelled') log.info(entry, 'FranceConnect: cancelled by the resident');
        else if (category === 'unavailable') log.warn(entry, 'FranceConnect unavailable');
        else
          log.error(
            entry,
            CONFIG_ERRORS.has(code) ? 'FranceConnect refused our request: configuration error' : 'FranceConnect: unknown error',
          );
        return { kind: 'error', category, interactionUid: attempt?.interaction_uid ?? undefined, purpose: attempt?.purpose };
      }
      if (!attempt) return refuse(state ? 'state_unknown_used_or_foreign' : 'state_missing', undefined);
      if (str(query.iss) !== client.issuer) return refuse('iss_mismatch', attempt);
      const code = str(query.code);
      if (!code) return refuse('code_missing', attempt);

      let identity: FcIdentity | undefined;
      let idToken: string;
      try {
        const tokens = await client.exchangeCode(code, attempt.nonce, now);
        idToken = tokens.idToken;
        identity = identityFromUserinfo(await client.userinfo(tokens.accessToken, tokens.idTokenClaims.sub, now), tokens.idTokenClaims.acr);
      } catch (err) {
        if (!(err instanceof FcProtocolError)) throw err;
        return err.unavailable ? refuse(err.reason, attempt, 'error', 'unavailable') : refuse(err.reason, attempt);
      }
      if (!identity) return refuse('userinfo_pivot_invalid', attempt, 'error');
      const idTokenEncrypted = secrets.encrypt(idToken);

      if (attempt.purpose === 'link') return linkFromAccountArea(attempt, identity, idTokenEncrypted, now);
      const resolution = await resolve(identity, now);
      await store.recordOutcome(attempt.id, {
        outcome: resolution.outcome,
        sub: identity.sub,
        identity,
        idTokenEncrypted,
        accountId: resolution.accountId,
        declaredBefore: resolution.outcome === 'auto_linked' ? resolution.declaredBefore : undefined,
      });
      log.info(
        { event: 'franceconnect_identity_verified', outcome: resolution.outcome satisfies LoginOutcome },
        'FranceConnect identity verified',
      );
      return { kind: 'login', interactionUid: attempt.interaction_uid! };
    },

    async pendingLogin(browserHash: string, interactionUid: string, now: Date): Promise<PendingLogin | undefined> {
      const row = await store.pendingAttempt(browserHash, interactionUid, now);
      return row ? pendingFrom(row) : undefined;
    },

    /** Known or automatically linked: refreshes the certification and returns the account to log in. */
    async completeLogin(pending: PendingLink, browserHash: string, now: Date): Promise<string | undefined> {
      const link = await store.findLinkBySub(pending.identity.sub);
      if (link?.account_id !== pending.accountId) return undefined;
      return linking.finishRoundTrip(pending, browserHash, now, { type: 'login', detail: { method: 'franceconnect' } }, pending.accountId);
    },

    /**
     * « Ce n’est pas mon compte » on the notice of an automatic link: the link and the
     * certification go, the account gets back the values it declared, this identity is never
     * linked automatically to it again, and the round trip becomes a choice (it can no longer log
     * into that account). Only while the notice is pending (before « Continuer »).
     */
    async undoAutomaticLink(pending: Extract<PendingLogin, { outcome: 'auto_linked' }>, now: Date): Promise<PendingChoice | undefined> {
      const undone = await store.transaction(async (trx) => {
        const taken = await store.takeAutoLinkedAttempt(trx, pending.id);
        if (!taken || taken.sub !== pending.identity.sub) return false;
        const link = await store.findLinkByAccount(taken.accountId, trx);
        if (link?.sub === taken.sub) await store.deleteLink(trx, taken.accountId);
        if (taken.declaredBefore) await store.restoreDeclared(trx, taken.accountId, taken.declaredBefore, now);
        const subHash = hashSub(taken.sub);
        await store.insertRefusal(trx, taken.accountId, subHash, now);
        await store.recordEvent(trx, taken.accountId, 'franceconnect_link_undone', { reason: 'not_my_account', subHash });
        return true;
      });
      if (!undone) return undefined;
      // An account held someone else’s exact identity: worth an operator’s look (no personal data).
      log.warn({ event: 'franceconnect_link_undone', reason: 'not_my_account' }, 'automatic FranceConnect link undone by the resident');
      return { id: pending.id, identity: pending.identity, idTokenEncrypted: pending.idTokenEncrypted, outcome: 'choose', accountId: null };
    },

    /** The FranceConnect email can be kept (no new verification) unless another account uses it. */
    async emailForNewAccount(pending: PendingLogin): Promise<string | null> {
      const email = pending.identity.email;
      return email && !(await accountStore.findByEmail(email)) ? email : null;
    },

    /** « Créer mon compte »: an account from the pivot, no password. */
    async createAccount(pending: PendingChoice, browserHash: string, now: Date): Promise<string | undefined> {
      if (await store.findLinkBySub(pending.identity.sub)) return undefined;
      const email = await this.emailForNewAccount(pending);
      const id = await linking.finishRoundTrip(pending, browserHash, now, { type: 'signup', detail: { method: 'franceconnect' } }, (trx) =>
        store.createAccount(trx, pending.identity, email, now),
      );
      if (id) log.info({ event: 'franceconnect_account_created' }, 'account created from FranceConnect');
      return id;
    },
  };
}

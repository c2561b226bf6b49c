// FranceConnect federation rules: round trips (state/nonce), checking FranceConnect's answer,
// finding the account (known sub, exact pivot match, or the resident's choice), certification,
// unlinking, and logging out of FranceConnect after GLC. No ctx here: routes pass plain values.
import { createHash, randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Logger } from '../log.js';
import type { Secrets } from '../secrets.js';
import type { AccountStore } from '../accounts/store.js';
import type { AccountService } from '../accounts/service.js';
import type { FranceConnectMock, FcIdentity as FcMockIdentity } from './mock/mock.js';
import { FcProtocolError, type FranceConnectClient } from './client.js';
import { birthdateForms, identityFromUserinfo, pivotMatches, type DeclaredIdentity, type FcIdentity } from './normalise.js';
import { verifiedClaimsOf, type VerifiedClaims } from './certification.js';
import type { FranceConnectStore } from './store.js';
import type { FranceConnectAttemptTable, FranceConnectPurpose } from './tables.js';

/** How long a resident may take between the button and the end of the choice page. */
export const ATTEMPT_TTL_MS = 15 * 60_000;
/** A GLC session lives at most 14 days: so does the FranceConnect ID token kept for its logout. */
export const FC_SESSION_TTL_MS = 14 * 24 * 3600_000;
/** How long the help desk can resolve a « sub changed » request with its reference. */
export const RECOVERY_TTL_MS = 30 * 24 * 3600_000;

type Attempt = Selectable<FranceConnectAttemptTable>;

/** What the resident is told, by category of FranceConnect error. */
export type FcErrorCategory = 'cancelled' | 'config' | 'unavailable' | 'rejected';

export type CallbackResult =
  | { kind: 'error'; category: FcErrorCategory; interactionUid?: string; purpose?: FranceConnectPurpose }
  | { kind: 'login'; interactionUid: string }
  | { kind: 'linked'; ok: boolean };

export interface PendingLogin {
  id: string;
  /** `recovery`: the identity equals that of an account linked to another sub (see resolve). */
  outcome: 'known' | 'auto_linked' | 'choose' | 'recovery';
  accountId: string | null;
  identity: FcIdentity;
  idTokenEncrypted: string;
}

/** The in-process mock (development and tests only), for tests that bend it. */
export interface DevMock {
  mock: FranceConnectMock;
  identities: FcMockIdentity[];
  clock: { offsetSeconds: number };
}

const CONFIG_ERRORS = new Set(['invalid_request', 'invalid_scope', 'invalid_acr', 'unsupported_response_type', 'unauthorized_client', 'invalid_client']);
const UNAVAILABLE_ERRORS = new Set(['server_error', 'temporarily_unavailable']);

const random64 = () => randomBytes(32).toString('hex');
const hashState = (state: string) => createHash('sha256').update(state).digest('hex');
/** How the journal names a FranceConnect sub (SHA-256, hex): comparable, not the sub itself. */
export const hashSub = (sub: string) => createHash('sha256').update(sub).digest('hex');

const REFERENCE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U
/** A reference a resident can read over the phone: « FC-7K3M-Q9TZ » (40 random bits). */
export function recoveryReference(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 8; i++) out = REFERENCE_ALPHABET[Number((bits >> BigInt(5 * i)) & 31n)]! + out;
  return `FC-${out.slice(0, 4)}-${out.slice(4)}`;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function maskEmail(email: string | null | undefined): string | undefined {
  if (!email) return undefined;
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}•••@${domain}`;
}

export interface FranceConnectDeps {
  store: FranceConnectStore;
  accountStore: AccountStore;
  accounts: AccountService;
  secrets: Secrets;
  log: Logger;
  client: FranceConnectClient;
  issuer: string;
  /** Read at call time (tests flip it). */
  settings: { autoLink: boolean };
  devMock?: DevMock;
}

/**
 * The help desk’s side of a changed sub (SAU, `glc franceconnect recovery …`): the request behind
 * a reference, and relinking its account to the new sub once the resident’s identity has been
 * checked out of band. Needs no FranceConnect client.
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
    async resolve(reference: string, now: Date, accountId?: string): Promise<{ ok: true; accountId: string } | { ok: false; reason: RecoveryRefusal }> {
      const result = await store.transaction(async (trx): Promise<{ ok: true; accountId: string } | { ok: false; reason: RecoveryRefusal }> => {
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
        await store.upsertLink(trx, target, request.new_sub, now);
        const identity = request.identity as unknown as FcIdentity | null;
        if (identity?.sub === request.new_sub) await store.certify(trx, target, identity, now);
        await store.resolveRecovery(trx, request.reference, target, now);
        await store.recordEvent(trx, target, 'franceconnect_linked', {
          method: 'help_desk', reference: request.reference,
          oldSubHash: account.linked_sub ? hashSub(account.linked_sub) : request.old_sub_hash, newSubHash: request.new_sub_hash,
        });
        return { ok: true, accountId: target };
      });
      log.info({ event: 'franceconnect_recovery_resolved', outcome: result.ok ? 'relinked' : result.reason }, 'FranceConnect recovery request handled');
      return result;
    },
  };
}

export type RecoveryRefusal = 'unknown' | 'account_required' | 'account_mismatch' | 'account_unknown' | 'account_not_linked' | 'account_has_password' | 'sub_linked_elsewhere';

export function createFranceConnectService(deps: FranceConnectDeps) {
  const { store, accountStore, accounts, secrets, log, client } = deps;
  const desk = createRecoveryDesk(store, log);

  async function start(purpose: FranceConnectPurpose, input: { browserHash: string; interactionUid?: string; accountId?: string }, now: Date): Promise<string> {
    const state = random64();
    const nonce = random64();
    const url = await client.authorizationUrl({ state, nonce });
    await store.insertAttempt({
      stateHash: hashState(state), nonce, browserHash: input.browserHash, purpose,
      interactionUid: input.interactionUid ?? null, accountId: input.accountId ?? null,
      expiresAt: new Date(now.getTime() + ATTEMPT_TTL_MS), now,
    });
    log.info({ event: 'franceconnect_redirect', purpose }, 'sent to FranceConnect');
    return url;
  }

  function refuse(reason: string, attempt: Attempt | undefined, level: 'warn' | 'error' = 'warn', category: FcErrorCategory = 'rejected'): CallbackResult {
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
      await store.upsertLink(trx, accountId, identity.sub, now);
      await store.certify(trx, accountId, identity, now);
      await store.recordEvent(trx, accountId, 'franceconnect_linked', { method: 'account_area' });
      await store.insertSession(trx, { accountId, browserHash: attempt.browser_hash, idTokenEncrypted, expiresAt: new Date(now.getTime() + FC_SESSION_TTL_MS), now });
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
  async function resolve(identity: FcIdentity, now: Date): Promise<{ outcome: PendingLogin['outcome']; accountId: string | null; declaredBefore?: DeclaredIdentity; reference?: string }> {
    const link = await store.findLinkBySub(identity.sub);
    if (link) return { outcome: 'known', accountId: link.account_id };
    const forms = [...birthdateForms(identity.pivot.birthdate, identity.idpBirthdate)];
    const matches = (await store.matchCandidates(forms, identity.pivot.birthcountry, hashSub(identity.sub))).filter((a) => pivotMatches(a, identity));
    if (matches.length !== 1) {
      if (matches.length > 1) log.info({ event: 'franceconnect_match_ambiguous', candidates: matches.length }, 'several accounts match: no automatic link');
      return { outcome: 'choose', accountId: null };
    }
    const match = matches[0]!;
    if (match.linked_sub !== null) {
      if (match.password_hash) return { outcome: 'choose', accountId: null };
      const opened = await store.openRecovery({
        reference: recoveryReference(), accountId: match.id, newSub: identity.sub,
        oldSubHash: hashSub(match.linked_sub), newSubHash: hashSub(identity.sub), identity, now, expiresAt: new Date(now.getTime() + RECOVERY_TTL_MS),
      });
      log.warn({ event: 'franceconnect_recovery_requested', reference: opened.reference, created: opened.created, match: 'exact' }, 'FranceConnect identity matches an account linked to another sub: left to the help desk');
      return { outcome: 'recovery', accountId: match.id, reference: opened.reference };
    }
    if (!deps.settings.autoLink) return { outcome: 'choose', accountId: null };
    const accountId = match.id;
    let declaredBefore: DeclaredIdentity | undefined;
    try {
      await store.transaction(async (trx) => {
        declaredBefore = await store.declaredIdentity(trx, accountId);
        await store.upsertLink(trx, accountId, identity.sub, now);
        await store.certify(trx, accountId, identity, now);
        await store.recordEvent(trx, accountId, 'franceconnect_linked', { method: 'automatic' });
      });
    } catch {
      return { outcome: 'choose', accountId: null }; // linked meanwhile by a concurrent request
    }
    log.info({ event: 'franceconnect_linked', method: 'automatic' }, 'FranceConnect linked');
    return { outcome: 'auto_linked', accountId, declaredBefore };
  }

  async function finish(pending: PendingLogin, accountId: string, browserHash: string, now: Date, event: { type: string; detail: Record<string, unknown> }, create?: (trx: Parameters<Parameters<FranceConnectStore['transaction']>[0]>[0]) => Promise<string>): Promise<string | undefined> {
    const done = await store.transaction(async (trx) => {
      if (!(await store.finishAttempt(trx, pending.id, now, pending.outcome))) return undefined;
      const id = create ? await create(trx) : accountId;
      await store.upsertLink(trx, id, pending.identity.sub, now);
      await store.certify(trx, id, pending.identity, now);
      await store.recordEvent(trx, id, event.type, event.detail);
      await store.insertSession(trx, { accountId: id, browserHash, idTokenEncrypted: pending.idTokenEncrypted, expiresAt: new Date(now.getTime() + FC_SESSION_TTL_MS), now });
      return id;
    });
    if (done) await accountStore.touchActivity(done, now);
    return done;
  }

  return {
    client,
    devMock: deps.devMock,

    startLogin: (input: { browserHash: string; interactionUid: string }, now: Date) => start('login', input, now),
    startLink: (input: { browserHash: string; accountId: string }, now: Date) => start('link', input, now),

    /** Back from FranceConnect: error first, then state (single use, this browser), iss, code, tokens, userinfo. */
    async handleCallback(query: Record<string, unknown>, browserHash: string, now: Date): Promise<CallbackResult> {
      const state = str(query.state);
      const error = str(query.error);
      const attempt = state && /^[0-9a-f]{64}$/.test(state) ? await store.consumeState(hashState(state), browserHash, ['login', 'link'], now) : undefined;

      if (error !== undefined) {
        const code = /^[a-z_]{1,40}$/.test(error) ? error : 'unknown';
        const category: FcErrorCategory = code === 'access_denied' ? 'cancelled' : UNAVAILABLE_ERRORS.has(code) ? 'unavailable' : 'config';
        const entry = { event: 'franceconnect_error', error: code, stateMatched: attempt !== undefined, purpose: attempt?.purpose };
        if (category === 'cancelled') log.info(entry, 'FranceConnect: cancelled by the resident');
        else if (category === 'unavailable') log.warn(entry, 'FranceConnect unavailable');
        else log.error(entry, CONFIG_ERRORS.has(code) ? 'FranceConnect refused our request: configuration error' : 'FranceConnect: unknown error');
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
      const { outcome, accountId, declaredBefore } = await resolve(identity, now);
      await store.recordOutcome(attempt.id, { outcome, sub: identity.sub, identity, idTokenEncrypted, accountId, declaredBefore });
      log.info({ event: 'franceconnect_identity_verified', outcome }, 'FranceConnect identity verified');
      return { kind: 'login', interactionUid: attempt.interaction_uid! };
    },

    async pendingLogin(browserHash: string, interactionUid: string, now: Date): Promise<PendingLogin | undefined> {
      const row = await store.pendingAttempt(browserHash, interactionUid, now);
      if (!row?.identity || !row.id_token_encrypted || !row.outcome || !['known', 'auto_linked', 'choose', 'recovery'].includes(row.outcome)) return undefined;
      return { id: row.id, outcome: row.outcome as PendingLogin['outcome'], accountId: row.account_id, identity: row.identity as unknown as FcIdentity, idTokenEncrypted: row.id_token_encrypted };
    },

    /** Known or automatically linked: refreshes the certification and returns the account to log in. */
    async completeLogin(pending: PendingLogin, browserHash: string, now: Date): Promise<string | undefined> {
      if ((pending.outcome !== 'known' && pending.outcome !== 'auto_linked') || !pending.accountId) return undefined;
      const link = await store.findLinkBySub(pending.identity.sub);
      if (link?.account_id !== pending.accountId) return undefined;
      return finish(pending, pending.accountId, browserHash, now, { type: 'login', detail: { method: 'franceconnect' } });
    },

    /** « J’ai déjà un compte »: the password proves the account is theirs, then the link is made. */
    async linkWithPassword(pending: PendingLogin, input: { email: string; password: string; ip: string }, browserHash: string, now: Date) {
      if (pending.outcome !== 'choose') return { ok: false as const, reason: 'invalid' as const };
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
      const accountId = await finish(pending, result.account.id, browserHash, now, { type: 'franceconnect_linked', detail });
      if (!accountId) return { ok: false as const, reason: 'expired' as const };
      log.info({ event: 'franceconnect_linked', method: detail.method }, 'FranceConnect linked');
      return { ok: true as const, accountId };
    },

    /**
     * « Ce n’est pas mon compte » on the notice of an automatic link: the link and the
     * certification go, the account gets back the values it declared, this identity is never
     * linked automatically to it again, and the round trip becomes a choice (it can no longer log
     * into that account). Only while the notice is pending (before « Continuer »).
     */
    async undoAutomaticLink(pending: PendingLogin, now: Date): Promise<{ ok: boolean }> {
      if (pending.outcome !== 'auto_linked') return { ok: false };
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
      // An account held someone else’s exact identity: worth an operator’s look (no personal data).
      if (undone) log.warn({ event: 'franceconnect_link_undone', reason: 'not_my_account' }, 'automatic FranceConnect link undone by the resident');
      return { ok: undone };
    },

    /** The help-desk reference of a `recovery` outcome. */
    async recoveryReference(pending: PendingLogin, now: Date): Promise<string | undefined> {
      if (pending.outcome !== 'recovery' || !pending.accountId) return undefined;
      return (await store.findOpenRecovery(pending.accountId, pending.identity.sub, now))?.reference;
    },

    /** Help desk (SAU): see createRecoveryDesk. */
    resolveRecovery: (reference: string, now: Date, accountId?: string) => desk.resolve(reference, now, accountId),

    /**
     * From the choice page: « J’avais un compte créé avec FranceConnect, sans mot de passe ». No
     * account matched (a civil-status change changes the sub and the values): a reference for the
     * help desk, who finds the account and relinks it after checking who the resident is.
     */
    async requestAssistance(pending: PendingLogin, now: Date): Promise<string | undefined> {
      if (pending.outcome !== 'choose') return undefined;
      const opened = await store.openRecovery({
        reference: recoveryReference(), accountId: null, newSub: pending.identity.sub, oldSubHash: null,
        newSubHash: hashSub(pending.identity.sub), identity: pending.identity, now, expiresAt: new Date(now.getTime() + RECOVERY_TTL_MS),
      });
      log.warn({ event: 'franceconnect_recovery_requested', reference: opened.reference, created: opened.created, match: 'none' }, 'resident asked the help desk to find their FranceConnect account');
      return opened.reference;
    },

    /** The FranceConnect email can be kept (no new verification) unless another account uses it. */
    async emailForNewAccount(pending: PendingLogin): Promise<string | null> {
      const email = pending.identity.email;
      return email && !(await accountStore.findByEmail(email)) ? email : null;
    },

    /** « Créer mon compte »: an account from the pivot, no password. */
    async createAccount(pending: PendingLogin, browserHash: string, now: Date): Promise<string | undefined> {
      if (pending.outcome !== 'choose') return undefined;
      if (await store.findLinkBySub(pending.identity.sub)) return undefined;
      const email = await this.emailForNewAccount(pending);
      const id = await finish(pending, '', browserHash, now, { type: 'signup', detail: { method: 'franceconnect' } },
        (trx) => store.createAccount(trx, pending.identity, email, now));
      if (id) log.info({ event: 'franceconnect_account_created' }, 'account created from FranceConnect');
      return id;
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
        certified: fields.map((f) => ({ field: f.field, value: f.value, source: f.source, acr: f.acr, certified_at: f.certified_at.toISOString() })),
      };
    },

    /** What the account area shows. */
    async status(accountId: string) {
      const [link, fields, account] = await Promise.all([store.findLinkByAccount(accountId), store.certifiedFields(accountId), accountStore.findById(accountId)]);
      return { linked: link !== undefined, linkedAt: link?.linked_at, fields, canUnlink: link !== undefined && Boolean(account?.password_hash) };
    },

    /** Refused when FranceConnect is the only way to log in (no password). Values stay, as declared. */
    async unlink(accountId: string, now: Date): Promise<{ ok: true } | { ok: false; reason: 'not_linked' | 'no_other_login' }> {
      const [link, account] = await Promise.all([store.findLinkByAccount(accountId), accountStore.findById(accountId)]);
      if (!link) return { ok: false, reason: 'not_linked' };
      if (!account?.password_hash) return { ok: false, reason: 'no_other_login' };
      await store.transaction(async (trx) => {
        await store.deleteLink(trx, accountId);
        await store.recordEvent(trx, accountId, 'franceconnect_unlinked');
      });
      void now;
      log.info({ event: 'franceconnect_unlinked' }, 'FranceConnect unlinked');
      return { ok: true };
    },

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
        await store.insertAttempt({ stateHash: hashState(state), nonce: random64(), browserHash, purpose: 'logout', returnTo: returnTo ?? null, expiresAt: new Date(now.getTime() + ATTEMPT_TTL_MS), now });
        log.info({ event: 'franceconnect_logout_redirect' }, 'sent to FranceConnect logout');
        return url;
      } catch (err) {
        log.error({ event: 'franceconnect_logout_failed', reason: (err as Error).message }, 'FranceConnect logout could not start');
        return undefined;
      }
    },

    /** Back from FranceConnect's logout: the state must be the one this browser was given. */
    async finishLogout(state: unknown, browserHash: string, now: Date): Promise<{ ok: boolean; returnTo?: string }> {
      const s = str(state);
      const row = s && /^[0-9a-f]{64}$/.test(s) ? await store.consumeState(hashState(s), browserHash, ['logout'], now) : undefined;
      if (!row) {
        log.warn({ event: 'franceconnect_logout_state_rejected' }, 'FranceConnect logout return with an unknown state');
        return { ok: false };
      }
      await store.transaction((trx) => store.finishAttempt(trx, row.id, now));
      return { ok: true, returnTo: row.return_to ?? undefined };
    },

    cleanup: (now: Date) => store.deleteExpired(now),
  };
}
export type FranceConnectService = ReturnType<typeof createFranceConnectService>;

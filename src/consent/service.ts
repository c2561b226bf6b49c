// Consent rules: what a service asks for, what the resident agreed to, the grant oidc-provider
// uses, what leaves GLC, and every change written to the hash-chained journal (journal.ts).
// No ctx here: routes and provider hooks (index.ts) translate HTTP into these calls.
import type Provider from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Account, Client, Database } from '../db/schema.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Secrets } from '../secrets.js';
import type { ClientStore } from '../clients/store.js';
import type { AccountStore } from '../accounts/store.js';
import { applyClaimSources, type ClaimSource } from '../oidc/provider.js';
import { accountClaims, displayName, type Claims } from '../oidc/account-claims.js';
import { CLAIM_LABELS, COMPANION_CLAIMS, CONSENTABLE_CLAIMS, SCOPE_CLAIMS, TECHNICAL_SCOPES } from '../oidc/claims.js';
import { revokeServiceAccess, type SessionDeps } from '../oidc/sessions.js';
import { genderLabel } from '../http/labels.js';
import { birthcountryText, birthplaceText } from '../accounts/identity.js';
import { createChainVerifier, entryHash, journalEntries, type VerifyReport } from './journal.js';
import { accountWithConsentFromRow, createConsentStore, type Consent, type ConsentStore } from './store.js';
import { accountReadAheadKey, grantReadAheadKey, readAhead, takeReadAhead } from '../oidc/read-ahead.js';

const consentKey = (accountId: string, clientId: string) => `consent ${accountId} ${clientId}`;

/** The Grant model of the provider serving the request (the provider is rebuilt on key rotation). */
export type GrantClass = Provider['Grant'];
type Grant = InstanceType<GrantClass>;
type Q = Kysely<Database>;

const PERSONAL: readonly string[] = CONSENTABLE_CLAIMS;
const ALL_CLAIMS = [...new Set(Object.values(SCOPE_CLAIMS).flat())] as string[];
/** Claims that are not personal data to consent to. */
const FREE_CLAIMS = new Set(['sub', 'updated_at']);
const DAY_MS = 24 * 3600_000;

/** email_verified → email, phone_number_verified → phone_number; other claims are their own base. */
const baseOf = (claim: string): string => (FREE_CLAIMS.has(claim) ? claim : (COMPANION_CLAIMS[claim] ?? claim));
const companionsOf = (claim: string): string[] =>
  Object.entries(COMPANION_CLAIMS)
    .filter(([c, b]) => b === claim && !FREE_CLAIMS.has(c))
    .map(([c]) => c);
/** How a consent ends (see endConsent). */
type Ending = { kind: 'withdrawn' } | { kind: 'expired' } | { kind: 'partially_withdrawn'; claims: string[]; optional: string[] };

const inOrder = (claims: Iterable<string>): string[] => {
  const set = new Set(claims);
  return PERSONAL.filter((c) => set.has(c));
};

/** What a service asks for in one authorization request, reduced to what it registered for. */
export interface ConsentRequest {
  /** Requested scopes (oidc-provider already removed those the client may not ask). */
  scopes: string[];
  /** Personal data asked for (by scope or `claims` parameter) that the service registered. */
  data: string[];
}

export interface ConsentPlan {
  kind: 'first' | 'extension' | 'nothing_new';
  newRequired: string[];
  newOptional: string[];
  /** Data the resident already agreed to share with this service (extension). */
  alreadyConsented: string[];
}

export interface DatumView {
  name: string;
  label: string;
  value: string | null;
  certified: boolean;
}

function registeredOf(client: Pick<Client, 'claims_required' | 'claims_optional'>): Set<string> {
  return new Set([...client.claims_required, ...client.claims_optional]);
}

/** Parses the scope and `claims` parameters of a request; never throws on bad input. */
export function analyseRequest(
  client: Pick<Client, 'claims_required' | 'claims_optional'>,
  scopeParam: unknown,
  claimsParam: unknown,
): ConsentRequest {
  const scopes = typeof scopeParam === 'string' ? [...new Set(scopeParam.split(' ').filter(Boolean))] : [];
  const asked = new Set<string>();
  for (const scope of scopes) ((SCOPE_CLAIMS as Record<string, readonly string[]>)[scope] ?? []).forEach((c) => asked.add(baseOf(c)));
  if (typeof claimsParam === 'string') {
    try {
      const parsed = JSON.parse(claimsParam) as Record<string, unknown>;
      for (const target of ['userinfo', 'id_token']) {
        const wanted = parsed?.[target];
        if (wanted && typeof wanted === 'object') Object.keys(wanted).forEach((c) => asked.add(baseOf(c)));
      }
    } catch {
      /* the provider already validated it; nothing more to ask */
    }
  }
  const registered = registeredOf(client);
  return { scopes, data: inOrder([...asked].filter((c) => registered.has(c))) };
}

/** Consent that still lets a service receive data at `now` under its current request. */
function isCurrent(consent: Consent | undefined, client: Pick<Client, 'request_version'>, now: Date): consent is Consent {
  return (
    !!consent &&
    consent.status === 'active' &&
    consent.expires_at.getTime() > now.getTime() &&
    consent.request_version === client.request_version
  );
}

export function planConsent(client: Client, request: ConsentRequest, consent: Consent | undefined, now: Date): ConsentPlan {
  const required = new Set(client.claims_required);
  if (!isCurrent(consent, client, now)) {
    return {
      kind: 'first',
      newRequired: request.data.filter((c) => required.has(c)),
      newOptional: request.data.filter((c) => !required.has(c)),
      alreadyConsented: [],
    };
  }
  const decided = new Set([...consent.claims, ...consent.declined]);
  const fresh = request.data.filter((c) => !decided.has(c));
  return {
    kind: fresh.length ? 'extension' : 'nothing_new',
    newRequired: fresh.filter((c) => required.has(c)),
    newOptional: fresh.filter((c) => !required.has(c)),
    alreadyConsented: inOrder(consent.claims),
  };
}

/**
 * Writes the consent into an oidc-provider grant: scopes whose registered data are all decided
 * are granted (some datum consented) or rejected (none); undecided ones are left out so the
 * provider asks again. Claims never consented by this resident for this service are rejected.
 * Returns the scopes granted.
 */
export function applyToGrant(
  grant: Grant,
  client: Client,
  consent: { claims: string[]; declined: string[] },
  scopes: Iterable<string>,
): string[] {
  const registered = registeredOf(client);
  const consented = new Set(consent.claims);
  const declined = new Set(consent.declined);
  const decided = new Set([...consented, ...declined]);
  const granted: string[] = [];
  for (const scope of new Set(scopes)) {
    if (scope === 'openid' || scope === 'offline_access') {
      grant.addOIDCScope(scope);
      granted.push(scope);
      continue;
    }
    const claims = (SCOPE_CLAIMS as Record<string, readonly string[]>)[scope];
    if (!claims) {
      if ((TECHNICAL_SCOPES as readonly string[]).includes(scope)) grant.rejectOIDCScope(scope);
      continue;
    }
    const own = claims.map(baseOf).filter((c) => registered.has(c));
    if (!own.every((c) => decided.has(c))) continue;
    if (own.some((c) => consented.has(c))) {
      grant.addOIDCScope(scope);
      granted.push(scope);
    } else grant.rejectOIDCScope(scope);
  }
  const allowed = allowedClaims(consent.claims);
  grant.addOIDCClaims([...allowed]);
  const refused = ALL_CLAIMS.filter(
    (c) => !allowed.has(c) && !FREE_CLAIMS.has(c) && (!registered.has(baseOf(c)) || declined.has(baseOf(c))),
  );
  if (refused.length) grant.rejectOIDCClaims(refused);
  return granted;
}

function allowedClaims(consented: string[]): Set<string> {
  const allowed = new Set<string>(FREE_CLAIMS);
  for (const c of consented) {
    allowed.add(c);
    companionsOf(c).forEach((x) => allowed.add(x));
  }
  // `name` is made of the names: released when the given names and a last name are.
  if (allowed.has('given_name') && (allowed.has('family_name') || allowed.has('preferred_username'))) allowed.add('name');
  return allowed;
}

/** verified_claims (object or array of objects) keeping only consented claims; undefined if none left. */
function filterVerifiedClaims(value: unknown, consented: Set<string>): unknown {
  const one = (v: unknown) => {
    if (!v || typeof v !== 'object') return undefined;
    const { claims, ...rest } = v as { claims?: Record<string, unknown> };
    if (!claims || typeof claims !== 'object') return undefined;
    const kept = Object.fromEntries(Object.entries(claims).filter(([k]) => consented.has(baseOf(k)) && !FREE_CLAIMS.has(k)));
    return Object.keys(kept).length ? { ...rest, claims: kept } : undefined;
  };
  if (Array.isArray(value)) {
    const kept = value.map(one).filter((v) => v !== undefined);
    return kept.length ? kept : undefined;
  }
  return one(value);
}

/** Only what the resident consented to leaves GLC; applied after every other claims source. */
export function filterReleasedClaims(claims: Claims, consented: string[] | undefined): Claims {
  if (!consented) return { sub: claims.sub };
  const allowed = allowedClaims(consented);
  const out: Claims = {};
  for (const [name, value] of Object.entries(claims)) {
    if (!allowed.has(name)) continue;
    if (name === 'verified_claims') {
      const kept = filterVerifiedClaims(value, new Set(consented));
      if (kept !== undefined) out[name] = kept;
      continue;
    }
    if (name === 'name') continue; // made again below from the released names only
    out[name] = value;
  }
  if (allowed.has('name') && 'name' in claims) {
    const name = displayName(out);
    if (name) out.name = name;
  }
  return out;
}

function displayValue(name: string, value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (name === 'gender') return genderLabel(String(value));
  // Names, as on the identity sheet, not bare INSEE codes.
  if (name === 'birthplace' && typeof value === 'string') return birthplaceText(value);
  if (name === 'birthcountry' && typeof value === 'string') return birthcountryText(value);
  if (name === 'birthdate' && typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(`${value}T00:00:00Z`));
  }
  if (name === 'address' && typeof value === 'object') {
    const a = value as Record<string, string | undefined>;
    return [a.street_address, [a.postal_code, a.locality].filter(Boolean).join(' '), a.country].filter(Boolean).join(', ') || null;
  }
  if (name === 'verified_claims') {
    const claims = (Array.isArray(value) ? value[0] : value) as { claims?: Record<string, unknown> } | undefined;
    const names = Object.keys(claims?.claims ?? {}).map((c) => CLAIM_LABELS[c] ?? c);
    return names.length ? `Certifié pour : ${names.join(', ')}` : null;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** What the consent service uses, and nothing more. */
export interface ConsentDeps extends SessionDeps {
  db: Db;
  config: Pick<Config, 'consentTtlDays' | 'consentProofDays'>;
  secrets: Pick<Secrets, 'hmac'>;
  clientStore: Pick<ClientStore, 'find'>;
  accountStore: Pick<AccountStore, 'findById'>;
  /** The same claim sources as the provider's (verified_claims): the consent page shows what would leave. */
  claimSources: readonly ClaimSource[];
}

export function createConsentService(s: ConsentDeps) {
  const store: ConsentStore = createConsentStore(s.db);
  const ttlMs = s.config.consentTtlDays * DAY_MS;
  const proofMs = s.config.consentProofDays * DAY_MS;
  const subjectOf = (accountId: string) => s.secrets.hmac('consent-pseudonym', accountId);
  /** The consent in force, as read with the account earlier in this request if it was (loadAccount). */
  const inForce = async (accountId: string, clientId: string): Promise<Consent | undefined> => {
    const ahead = takeReadAhead<Consent>(consentKey(accountId, clientId));
    return ahead ? ahead.value : store.findInForce(accountId, clientId);
  };

  async function clientOrThrow(clientId: string): Promise<Client> {
    const client = await s.clientStore.find(clientId);
    if (!client) throw new Error('unknown client');
    return client;
  }

  /** Saves the grant matching the consent and remembers it on the consent record. */
  async function saveGrant(
    GrantModel: GrantClass,
    accountId: string,
    client: Client,
    consent: Pick<Consent, 'claims' | 'declined' | 'scopes'>,
    requestedScopes: string[],
    reuseGrantId?: string,
  ): Promise<string> {
    const existing = reuseGrantId ? await GrantModel.find(reuseGrantId) : undefined;
    const grant =
      existing && existing.accountId === accountId && existing.clientId === client.client_id
        ? existing
        : new GrantModel({ accountId, clientId: client.client_id });
    const granted = applyToGrant(grant, client, consent, [...consent.scopes, ...requestedScopes]);
    const grantId = await grant.save();
    await store.setGrant(accountId, client.client_id, grantId, [...new Set([...consent.scopes, ...granted])]);
    return grantId;
  }

  /**
   * The same for a batch of accounts, set-based (the purge deletes thousands): a fixed number
   * of statements whatever the batch size. Each resident with consents or a chain gets its
   * 'deleted_with_account' entry chained to its own head, read under the chain locks. No chain
   * can grow unseen meanwhile: existing consents are locked here, and a first consent needs the
   * account row, which the deleting transaction holds FOR UPDATE.
   */
  async function onAccountsDeleted(trx: Q, accountIds: string[], now: Date): Promise<void> {
    if (!accountIds.length) return;
    const subjects = new Map(accountIds.map((id) => [subjectOf(id), id]));
    const consents = await store.consentsOfAccounts(trx, accountIds);
    const activeServices = new Map<string, string[]>();
    for (const c of consents) {
      const list = activeServices.get(c.account_id) ?? [];
      if (c.status === 'active') list.push(c.client_id);
      activeServices.set(c.account_id, list);
    }
    const withChain = await store.subjectsWithChain(trx, [...subjects.keys()]);
    const toAppend = [...new Set([...withChain, ...[...activeServices.keys()].map(subjectOf)])];
    await store.lockChains(trx, toAppend);
    const heads = new Map((toAppend.length ? await store.chainHeads(trx, toAppend) : []).map((h) => [h.subject, h]));
    await store.appendChained(
      trx,
      toAppend.map((subject) => {
        const head = heads.get(subject);
        const services = [...(activeServices.get(subjects.get(subject)!) ?? [])].sort();
        const entry = {
          subject,
          seq: (head?.seq ?? 0) + 1,
          ...journalEntries.deletedWithAccount(services),
          client_id: null,
          at: now,
          prev_hash: head?.hash ?? null,
        };
        return { ...entry, hash: entryHash(entry), accountId: null };
      }),
    );
    await store.pseudonymiseMany(trx, [...subjects.keys()], new Date(now.getTime() + proofMs));
    await store.deleteForAccounts(trx, accountIds);
  }

  async function revoke(accountId: string, clientId: string): Promise<void> {
    await revokeServiceAccess(s, accountId, clientId);
  }

  /**
   * The one way a consent ends, wholly (withdrawal, expiry) or in part (optional data unticked):
   * the record changes and its journal entry is written in one transaction, under the record's
   * lock; then the service's tokens are revoked and it is told. Returns whether something ended,
   * and the data no longer consented (nothing ends if the consent is not active, not expired yet
   * for an expiry, or has none of the data to remove).
   */
  async function endConsent(
    accountId: string,
    clientId: string,
    ending: Ending,
    now: Date,
  ): Promise<{ ended: boolean; removed: string[] }> {
    const NOTHING = { ended: false, removed: [] as string[] };
    const result = await s.db.transaction().execute(async (trx) => {
      const current = await store.findForUpdate(trx, accountId, clientId);
      if (!current || current.status !== 'active') return NOTHING;
      const base = { subject: subjectOf(accountId), accountId, clientId, at: now };
      if (ending.kind === 'partially_withdrawn') {
        const removable = current.claims.filter((c) => ending.claims.includes(c) && ending.optional.includes(c));
        if (!removable.length) return NOTHING;
        const remaining = current.claims.filter((c) => !removable.includes(c));
        await store.setClaims(trx, accountId, clientId, remaining, now);
        await store.append(trx, { ...base, ...journalEntries.partiallyWithdrawn(current, inOrder(removable), inOrder(remaining)) });
        return { ended: true, removed: removable };
      }
      // Expiry is compared again under the lock: a consent renewed meanwhile stays.
      if (ending.kind === 'expired' && current.expires_at.getTime() > now.getTime()) return NOTHING;
      await store.end(trx, accountId, clientId, ending.kind, now);
      const claims = inOrder(current.claims);
      await store.append(trx, {
        ...base,
        ...(ending.kind === 'expired' ? journalEntries.expired(current, claims) : journalEntries.withdrawn(current, claims)),
      });
      return { ended: true, removed: current.claims };
    });
    if (result.ended) await revoke(accountId, clientId);
    return result;
  }

  return {
    store,
    subjectOf,

    /** Where the consent page stands for this request. */
    async plan(accountId: string, client: Client, request: ConsentRequest, now: Date): Promise<ConsentPlan> {
      return planConsent(client, request, await store.find(accountId, client.client_id), now);
    },

    /** The resident's current values for the data shown on the consent page, and which are certified. */
    async describeData(accountId: string, data: string[]): Promise<DatumView[]> {
      const account = await s.accountStore.findById(accountId);
      if (!account) return [];
      let claims = accountClaims(account, accountId);
      claims = await applyClaimSources(s.claimSources, accountId, claims);
      const vc = claims.verified_claims;
      const certified = new Set(Object.keys(((Array.isArray(vc) ? vc[0] : vc) as { claims?: object } | undefined)?.claims ?? {}));
      return data.map((name) => ({
        name,
        label: CLAIM_LABELS[name] ?? name,
        value: displayValue(name, claims[name]),
        certified: name !== 'verified_claims' && certified.has(name),
      }));
    },

    /**
     * The resident answered the consent page (or there was nothing new to ask): records the
     * consent and its journal entry in one transaction, then saves the matching grant.
     */
    async decide(
      GrantModel: GrantClass,
      input: { accountId: string; clientId: string; request: ConsentRequest; acceptedOptional: string[]; now: Date },
    ): Promise<{ grantId: string; plan: ConsentPlan }> {
      const { accountId, request, now } = input;
      const client = await clientOrThrow(input.clientId);
      const subject = subjectOf(accountId);
      const result = await s.db.transaction().execute(async (trx) => {
        const current = await store.findForUpdate(trx, accountId, client.client_id);
        const plan = planConsent(client, request, current, now);
        const accepted = plan.newOptional.filter((c) => input.acceptedOptional.includes(c));
        const refused = plan.newOptional.filter((c) => !accepted.includes(c));
        if (plan.kind === 'first') {
          if (current?.status === 'active' && current.expires_at.getTime() <= now.getTime()) {
            await store.append(trx, {
              subject,
              accountId,
              clientId: client.client_id,
              at: now,
              ...journalEntries.expired(current, inOrder(current.claims)),
            });
          }
          const claims = inOrder([...plan.newRequired, ...accepted]);
          const expiresAt = new Date(now.getTime() + ttlMs);
          const consent = { claims, declined: refused, scopes: [] as string[] };
          await store.upsert(trx, {
            accountId,
            clientId: client.client_id,
            ...consent,
            requestVersion: client.request_version,
            purpose: client.purpose,
            method: 'web_form',
            grantedAt: now,
            updatedAt: now,
            expiresAt,
          });
          await store.append(trx, {
            subject,
            accountId,
            clientId: client.client_id,
            at: now,
            ...journalEntries.granted({
              claims,
              declined: refused,
              requestVersion: client.request_version,
              purpose: client.purpose,
              expiresAt,
            }),
          });
          return { plan, consent, reuse: undefined };
        }
        const c = current!;
        if (plan.kind === 'nothing_new') return { plan, consent: c, reuse: c.grant_id ?? undefined };
        const claims = inOrder([...c.claims, ...plan.newRequired, ...accepted]);
        const declined = inOrder([...c.declined, ...refused]);
        await store.upsert(trx, {
          accountId,
          clientId: client.client_id,
          claims,
          declined,
          scopes: c.scopes,
          requestVersion: c.request_version,
          purpose: c.purpose,
          method: c.method,
          grantedAt: c.granted_at,
          updatedAt: now,
          expiresAt: c.expires_at,
        });
        await store.append(trx, {
          subject,
          accountId,
          clientId: client.client_id,
          at: now,
          ...journalEntries.extended({
            added: inOrder([...plan.newRequired, ...accepted]),
            declined: refused,
            consented: claims,
            requestVersion: client.request_version,
            purpose: client.purpose,
          }),
        });
        return { plan, consent: { claims, declined, scopes: c.scopes }, reuse: c.grant_id ?? undefined };
      });
      const grantId = await saveGrant(GrantModel, accountId, client, result.consent, request.scopes, result.reuse);
      return { grantId, plan: result.plan };
    },

    /**
     * The account the provider asks for when a service is involved, with its consent for that
     * service (and the consent's grant) read in the same query, or with the token the request
     * carries (oidc/adapter.ts): grantFor and releaseClaims of the same request use them.
     */
    async loadAccount(accountId: string, clientId: string): Promise<Account | undefined> {
      const ahead = takeReadAhead<Parameters<typeof accountWithConsentFromRow>[0] & { consent_grant?: unknown }>(
        accountReadAheadKey(accountId, clientId),
      );
      if (ahead) {
        if (!ahead.value) return undefined;
        // Read along a session, the row also holds the consent's grant (null: expired or gone).
        const { consent_grant: grant, ...row } = ahead.value;
        const found = accountWithConsentFromRow(row);
        readAhead(consentKey(accountId, clientId), found.consent);
        if (grant !== undefined && found.consent?.grant_id) readAhead(grantReadAheadKey(found.consent.grant_id), grant ?? undefined);
        return found.account;
      }
      const found = await store.accountWithConsentInForce(accountId, clientId);
      if (!found) return undefined;
      readAhead(consentKey(accountId, clientId), found.consent);
      if (found.consent?.grant_id) readAhead(grantReadAheadKey(found.consent.grant_id), found.grant);
      return found.account;
    },

    /**
     * The grant to reuse for an authorization, or undefined to make the provider ask for consent
     * (none yet, withdrawn, expired — compared in SQL —, or the service changed its request).
     */
    async grantFor(GrantModel: GrantClass, accountId: string, clientId: string, requestedScopes: string[]): Promise<Grant | undefined> {
      const consent = await inForce(accountId, clientId);
      if (!consent) return undefined;
      const client = await s.clientStore.find(clientId);
      if (!client || consent.request_version !== client.request_version) return undefined;
      if (consent.grant_id) {
        const grant = await GrantModel.find(consent.grant_id);
        if (grant && grant.accountId === accountId && grant.clientId === clientId) return grant;
      }
      // Consent given in another session, or tokens revoked after a partial withdrawal.
      const grantId = await saveGrant(GrantModel, accountId, client, consent, requestedScopes);
      return GrantModel.find(grantId);
    },

    /** Filters the claims about to leave GLC for this service (ID token, userinfo). */
    async releaseClaims(accountId: string, clientId: string | undefined, claims: Claims): Promise<Claims> {
      if (!clientId) return { sub: claims.sub };
      const consent = await inForce(accountId, clientId);
      if (!consent) return filterReleasedClaims(claims, undefined);
      // A service receives a datum only if it still declares it and the resident consented.
      const client = await s.clientStore.find(clientId);
      const registered = client ? registeredOf(client) : new Set<string>();
      // Bookkeeping, not a condition of the answer: written beside it, not before it.
      void store
        .touchUsed(accountId, clientId, new Date())
        .catch((err: Error) => s.log.warn({ err: { message: err.message } }, 'consent last use not recorded'));
      return filterReleasedClaims(
        claims,
        consent.claims.filter((c) => registered.has(c)),
      );
    },

    /** « Retirer mon consentement »: nothing more is released, every token dies, the service is told. */
    async withdraw(accountId: string, clientId: string, now: Date): Promise<boolean> {
      return (await endConsent(accountId, clientId, { kind: 'withdrawn' }, now)).ended;
    },

    /** Unticks optional data: the service keeps the rest but must sign the resident in again. */
    async withdrawClaims(accountId: string, clientId: string, claims: string[], now: Date): Promise<string[]> {
      const client = await clientOrThrow(clientId);
      return (await endConsent(accountId, clientId, { kind: 'partially_withdrawn', claims, optional: client.claims_optional }, now))
        .removed;
    },

    /** Job: consents past their expiry end, are journaled, and their tokens revoked. */
    async expireDue(now: Date): Promise<number> {
      let count = 0;
      for (;;) {
        const due = await store.listExpired(now, 200);
        if (!due.length) return count;
        for (const { account_id: accountId, client_id: clientId } of due) {
          if ((await endConsent(accountId, clientId, { kind: 'expired' }, now)).ended) count++;
        }
      }
    },

    /** Job: pseudonymised journal entries of deleted accounts go once the proof period is over. */
    purgeJournal: (now: Date) => store.purge(now),

    /**
     * Account deletion, inside the deleting transaction: consents go, the journal stays as
     * evidence under the pseudonym only, with a last entry, until CONSENT_PROOF_DAYS. The
     * deletion routine runs it (one of its batch cleanups) for every batch.
     */
    onAccountsDeleted,

    /** For the resident's data export. */
    async exportFor(accountId: string) {
      const consents = await store.listForAccount(accountId);
      const journal = await store.journalOf(subjectOf(accountId));
      return {
        consents: consents.map((c) => ({
          service: { client_id: c.client_id, name: c.name, organisation: c.organisation },
          status: c.status,
          data: c.claims,
          declined: c.declined,
          scopes: c.scopes,
          request_version: c.request_version,
          purpose: c.purpose,
          method: c.method,
          granted_at: c.granted_at,
          updated_at: c.updated_at,
          expires_at: c.expires_at,
          last_used_at: c.last_used_at,
          ended_at: c.ended_at,
        })),
        journal: journal.map((e) => ({
          seq: e.seq,
          event: e.event,
          client_id: e.client_id,
          detail: e.detail,
          at: e.at,
          prev_hash: e.prev_hash,
          hash: e.hash,
        })),
      };
    },

    /** « Mes services connectés ». */
    listForAccount: (accountId: string) => store.listForAccount(accountId),

    /** Checks every chain of the journal (`glc consent verify`). */
    async verifyJournal(): Promise<VerifyReport> {
      const verifier = createChainVerifier();
      let after: { subject: string; seq: number } | null = null;
      for (;;) {
        const page = await store.journalPage(after, 5000);
        for (const row of page) verifier.add(row);
        const last = page.at(-1);
        if (!last || page.length < 5000) break;
        after = { subject: last.subject, seq: last.seq };
      }
      return verifier.result();
    },
  };
}
export type ConsentService = ReturnType<typeof createConsentService>;

// The resident's protocol state as oidc-provider stores it (sessions and grants in
// oidc_payloads), read and ended outside the provider's own endpoints: « me déconnecter
// partout », password change, consent withdrawal, account deletion, the security page and the
// data export. Services that registered a back-channel logout URI are told (OpenID Back-Channel
// Logout 1.0). This is the one module that reads those payloads and sends those logouts.
import { sql, type Kysely, type Transaction } from 'kysely';
import type Provider from 'oidc-provider';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { LogoutJob, Outbox } from '../outbox/queue.js';

/** What ending sessions needs: the database, a logger, and the provider in use (it changes on key rotation). */
export interface SessionDeps {
  db: Db;
  log: Logger;
  currentProvider(): Provider;
  outbox: Pick<Outbox, 'enqueueLogout'>;
}

/** The fields GLC reads of oidc-provider's stored Session. */
export interface StoredSession {
  uid?: string;
  accountId?: string;
  loginTs?: number;
  amr?: string[];
  exp?: number;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

/** The fields GLC reads of oidc-provider's stored Grant. */
export interface StoredGrant {
  accountId?: string;
  clientId?: string;
  openid?: { scope?: string; claims?: string[] };
  iat?: number;
  exp?: number;
}

export interface LogoutTarget {
  accountId: string;
  clientId: string;
  sid: string;
}

const TOKEN_MODELS = ['Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode'];
const ofAccount = (accountId: string) => sql<boolean>`payload->>'accountId' = ${accountId}`;
const ofAccounts = (ids: string[]) => sql<boolean>`payload->>'accountId' = any(${ids}::text[])`;

/** The resident's open sessions. */
export async function listSessions(db: Kysely<Database>, accountId: string) {
  const rows = await db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at'])
    .where('model', '=', 'Session')
    .where(ofAccount(accountId))
    .execute();
  return rows.map((r) => ({ id: r.id, expiresAt: r.expires_at, payload: r.payload as StoredSession }));
}

/** The grants services hold for the account (what they may receive). */
export async function listGrants(db: Kysely<Database>, accountId: string) {
  const rows = await db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at'])
    .where('model', '=', 'Grant')
    .where(ofAccount(accountId))
    .execute();
  return rows.map((r) => ({ id: r.id, expiresAt: r.expires_at, payload: r.payload as StoredGrant }));
}

/** Unexpired sessions of several accounts, read inside the deleting transaction (set-based). */
export async function liveSessionsOf(q: Kysely<Database>, accountIds: string[]): Promise<StoredSession[]> {
  const rows = await q
    .selectFrom('oidc_payloads')
    .select('payload')
    .where('model', '=', 'Session')
    .where(ofAccounts(accountIds))
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .execute();
  return rows.map((r) => r.payload as StoredSession);
}

/** Who must be told that these sessions ended: each service the session logged into, with its sid. */
export function logoutTargetsOf(sessions: StoredSession[], options: { except?: string } = {}): LogoutTarget[] {
  return sessions.flatMap((p) =>
    Object.entries(p.authorizations ?? {})
      .filter(([clientId]) => p.accountId && clientId !== options.except)
      .map(([clientId, a]) => ({ accountId: p.accountId!, clientId, sid: a.sid ?? '' })),
  );
}

/**
 * Queues back-channel logouts for the services that registered a URI, each service looked up
 * once: a service that is down gets them when it is back (retries with backoff, src/outbox/).
 * Given the deleting transaction, they go out if and only if it commits.
 */
export async function queueBackchannelLogouts(
  deps: Pick<SessionDeps, 'currentProvider' | 'outbox'>,
  targets: LogoutTarget[],
  trx?: Transaction<Database>,
): Promise<void> {
  const provider = deps.currentProvider();
  const wanted = new Map<string, Promise<boolean>>();
  const wants = (clientId: string) => {
    if (!wanted.has(clientId))
      wanted.set(
        clientId,
        provider.Client.find(clientId).then(
          (c) => Boolean(c?.backchannelLogoutUri),
          () => false,
        ),
      );
    return wanted.get(clientId)!;
  };
  for (const { accountId, clientId, sid } of targets) {
    if (await wants(clientId)) await deps.outbox.enqueueLogout({ clientId, accountId, sid }, trx);
  }
}

/** The queue's worker: one delivery attempt; a failure throws so that the queue retries. */
export async function deliverBackchannelLogout(deps: Pick<SessionDeps, 'currentProvider' | 'log'>, job: LogoutJob): Promise<void> {
  const client = await deps.currentProvider().Client.find(job.clientId);
  if (!client?.backchannelLogoutUri) return; // the service no longer wants them (or is gone)
  try {
    // Typed in oidc-provider's runtime, not in its published types.
    await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(job.accountId, job.sid);
  } catch (err) {
    deps.log.warn(
      { clientId: job.clientId, event: 'backchannel_logout_failed', error: (err as Error).message },
      'back-channel logout failed, will retry',
    );
    throw err;
  }
  deps.log.info({ clientId: job.clientId, event: 'backchannel_logout_sent' }, 'back-channel logout sent');
}

/** Ends every session of the account (but `exceptSessionUid`) and tells the services of those sessions. */
export async function endSessions(s: SessionDeps, accountId: string, options: { exceptSessionUid?: string } = {}): Promise<number> {
  const sessions = (await listSessions(s.db, accountId)).filter((x) => x.payload.uid !== options.exceptSessionUid);
  if (sessions.length)
    await s.db
      .deleteFrom('oidc_payloads')
      .where('model', '=', 'Session')
      .where(
        'id',
        'in',
        sessions.map((x) => x.id),
      )
      .execute();
  await queueBackchannelLogouts(s, logoutTargetsOf(sessions.map((x) => ({ ...x.payload, accountId }))));
  return sessions.length;
}

/**
 * Revokes at once every grant, code and token the service holds for this resident (a refresh or
 * userinfo call fails immediately), forgets the service in the resident's sessions, and sends
 * back-channel logout. Without clientId: every service (account deletion).
 */
export async function revokeServiceAccess(s: SessionDeps, accountId: string, clientId?: string): Promise<void> {
  const sessions = await listSessions(s.db, accountId);
  const targets: LogoutTarget[] = [];
  for (const session of sessions) {
    const auths = session.payload.authorizations ?? {};
    const affected = Object.keys(auths).filter((c) => !clientId || c === clientId);
    if (!affected.length) continue;
    affected.forEach((c) => {
      targets.push({ accountId, clientId: c, sid: auths[c]!.sid ?? '' });
      delete auths[c];
    });
    await s.db
      .updateTable('oidc_payloads')
      .set({ payload: JSON.stringify(session.payload) })
      .where('model', '=', 'Session')
      .where('id', '=', session.id)
      .execute();
  }
  let q = s.db.deleteFrom('oidc_payloads').where('model', 'in', TOKEN_MODELS).where(ofAccount(accountId));
  if (clientId) q = q.where(sql`payload->>'clientId'`, '=', clientId);
  await q.execute();
  if (!targets.length && clientId) targets.push({ accountId, clientId, sid: '' });
  await queueBackchannelLogouts(s, targets);
}

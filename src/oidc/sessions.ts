// Ending a resident's sessions and revoking what services hold, outside the provider's own
// endpoints: « me déconnecter partout », password change, consent withdrawal, account deletion.
// Services that registered a back-channel logout URI are told (OpenID Back-Channel Logout 1.0).
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Services } from '../services.js';
import type { LogoutJob } from '../outbox/queue.js';

interface SessionPayload { accountId?: string; uid?: string; authorizations?: Record<string, { sid?: string; grantId?: string }> }

const TOKEN_MODELS = ['Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode'];

async function sessionsOf(db: Db, accountId: string) {
  const rows = await db.selectFrom('oidc_payloads').select(['id', 'payload'])
    .where('model', '=', 'Session').where(sql`payload->>'accountId'`, '=', accountId).execute();
  return rows.map((r) => ({ id: r.id, payload: r.payload as SessionPayload }));
}

/**
 * Queues back-channel logouts for the services that registered a URI: a service that is down
 * gets them when it is back (retries with backoff, see src/outbox/queue.ts).
 */
async function notifyClients(s: Services, accountId: string, targets: { clientId: string; sid?: string }[]): Promise<void> {
  for (const { clientId, sid } of targets) {
    const client = await s.provider.Client.find(clientId).catch(() => undefined);
    if (client?.backchannelLogoutUri) await s.outbox.enqueueLogout({ clientId, accountId, sid: sid ?? '' });
  }
}

/** The queue's worker: one delivery attempt; a failure throws so that the queue retries. */
export async function deliverBackchannelLogout(s: Services, job: LogoutJob): Promise<void> {
  const client = await s.provider.Client.find(job.clientId);
  if (!client?.backchannelLogoutUri) return; // the service no longer wants them (or is gone)
  try {
    await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(job.accountId, job.sid);
  } catch (err) {
    s.log.warn({ clientId: job.clientId, event: 'backchannel_logout_failed', error: (err as Error).message }, 'back-channel logout failed, will retry');
    throw err;
  }
  s.log.info({ clientId: job.clientId, event: 'backchannel_logout_sent' }, 'back-channel logout sent');
}

/** Ends every session of the account (but `exceptSessionUid`) and tells the services of those sessions. */
export async function endSessions(s: Services, accountId: string, options: { exceptSessionUid?: string } = {}): Promise<number> {
  const sessions = (await sessionsOf(s.db, accountId)).filter((x) => x.payload.uid !== options.exceptSessionUid);
  const targets = sessions.flatMap((x) => Object.entries(x.payload.authorizations ?? {}).map(([clientId, a]) => ({ clientId, sid: a.sid })));
  if (sessions.length) await s.db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('id', 'in', sessions.map((x) => x.id)).execute();
  await notifyClients(s, accountId, targets);
  return sessions.length;
}

/**
 * Revokes at once every grant, code and token the service holds for this resident (a refresh or
 * userinfo call fails immediately), forgets the service in the resident's sessions, and sends
 * back-channel logout. Without clientId: every service (account deletion).
 */
export async function revokeServiceAccess(s: Services, accountId: string, clientId?: string): Promise<void> {
  const sessions = await sessionsOf(s.db, accountId);
  const targets: { clientId: string; sid?: string }[] = [];
  for (const session of sessions) {
    const auths = session.payload.authorizations ?? {};
    const affected = Object.keys(auths).filter((c) => !clientId || c === clientId);
    if (!affected.length) continue;
    affected.forEach((c) => { targets.push({ clientId: c, sid: auths[c]!.sid }); delete auths[c]; });
    await s.db.updateTable('oidc_payloads').set({ payload: JSON.stringify(session.payload) })
      .where('model', '=', 'Session').where('id', '=', session.id).execute();
  }
  let q = s.db.deleteFrom('oidc_payloads').where('model', 'in', TOKEN_MODELS).where(sql`payload->>'accountId'`, '=', accountId);
  if (clientId) q = q.where(sql`payload->>'clientId'`, '=', clientId);
  await q.execute();
  if (!targets.length && clientId) targets.push({ clientId });
  await notifyClients(s, accountId, targets);
}

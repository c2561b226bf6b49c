// The back-office's rules: who is staff, the console login (password through the residents'
// throttled login, then TOTP or a recovery code), the staff session (idle 15 min, absolute 8 h,
// separate from the resident's), and the help-desk actions, each journalled with its reason.
import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Account } from '../db/schema.js';
import type { AccountService } from '../accounts/service.js';
import type { AccountStore } from '../accounts/store.js';
import type { SelfService } from '../accounts/self-service.js';
import type { AuditService } from '../audit/service.js';
import type { DeletionService } from '../deletion/service.js';
import type { Throttle } from '../http/throttle.js';
import type { Secrets } from '../secrets.js';
import { randomToken } from '../secrets.js';
import { endSessions, listSessions, type SessionDeps } from '../oidc/sessions.js';
import { createAdminStore, type AdminStore } from './store.js';
import { keysOfAccount } from '../accounts/throttle-keys.js';
import { STAFF_ROLES, type StaffRole } from './tables.js';

export const STAFF_IDLE_MS = 15 * 60_000;
export const STAFF_ABSOLUTE_MS = 8 * 3600_000;
/** Destructive actions need a second factor entered less than 5 minutes ago. */
export const RECENT_SECOND_FACTOR_MS = 5 * 60_000;
const RECOVERY_CODES = 10;
const TOTP_ISSUER = 'GrandLyon Connect (console)';

export interface AdminDeps extends SessionDeps {
  db: Db;
  log: Logger;
  secrets: Pick<Secrets, 'encrypt' | 'decrypt' | 'hmac'>;
  accountStore: AccountStore;
  accounts: Pick<AccountService, 'logIn' | 'sendVerification' | 'settled'>;
  selfService: Pick<SelfService, 'requestPasswordReset'>;
  throttle: Throttle;
  audit: AuditService;
  deletion: Pick<DeletionService, 'deleteAccount'>;
  inactivityDeleteAfterDays: number;
}

export interface StaffMember {
  accountId: string;
  email: string;
  roles: StaffRole[];
}
export interface StaffSession extends StaffMember {
  idHash: string;
  secondFactorAt: Date | null;
  createdAt: Date;
}
/** Who acts, under which role, why, in which request: what every journal entry carries. */
export interface Actor {
  staff: StaffMember;
  role: StaffRole;
  reason: string;
  requestId: string;
}

export const isStaffRole = (v: string): v is StaffRole => (STAFF_ROLES as readonly string[]).includes(v);

export function createAdminService(deps: AdminDeps) {
  const store: AdminStore = createAdminStore(deps.db);
  const sessionHash = (token: string) => deps.secrets.hmac('staff-session', token);
  const recoveryHash = (code: string) => deps.secrets.hmac('staff-recovery', code.replace(/[\s-]/g, '').toLowerCase());
  const totpKey = (accountId: string) => `staff-2fa:${accountId}`;
  const totp = (now: Date) => authenticator.clone({ epoch: now.getTime(), window: 1 });

  async function journal(
    actor: Actor,
    action: string,
    target: { accountId?: string; clientId?: string },
    now: Date,
    detail: Record<string, unknown> = {},
  ) {
    await deps.audit.record(
      {
        staff_account_id: actor.staff.accountId,
        staff_email: actor.staff.email,
        role: actor.role,
        action,
        target_account_id: target.accountId ?? null,
        target_client_id: target.clientId ?? null,
        reason: actor.reason,
        request_id: actor.requestId,
        detail,
      },
      now,
    );
  }

  return {
    store,

    async grant(
      email: string,
      role: StaffRole,
      by: string | null,
    ): Promise<{ ok: true; accountId: string; added: boolean } | { ok: false }> {
      const account = await deps.accountStore.findByEmail(email.trim());
      if (!account) return { ok: false };
      return { ok: true, accountId: account.id, added: await store.grant(account.id, role, by) };
    },
    async revoke(email: string, role: StaffRole): Promise<{ ok: true; removed: boolean } | { ok: false }> {
      const account = await deps.accountStore.findByEmail(email.trim());
      if (!account) return { ok: false };
      const removed = await store.revoke(account.id, role);
      // Without any role left, every console session of that person ends now.
      if ((await store.rolesOf(account.id)).length === 0) await store.deleteSessionsOf(account.id);
      return { ok: true, removed };
    },

    /** First step: the resident login routine (same throttling), then a role is required. */
    async logIn(
      input: { email: string; password: string; ip: string },
      now: Date,
    ): Promise<{ ok: true; token: string } | { ok: false; blockedUntil?: Date }> {
      const result = await deps.accounts.logIn(input, now);
      if (!result.ok) return { ok: false, blockedUntil: result.reason === 'blocked' ? result.until : undefined };
      if ((await store.rolesOf(result.account.id)).length === 0) return { ok: false };
      const token = randomToken();
      await store.createSession(sessionHash(token), result.account.id, now);
      deps.log.info({ event: 'staff_login_password' }, 'staff password step passed');
      return { ok: true, token };
    },

    /** The session behind a cookie, if still valid (idle and absolute limits); refreshed. */
    async session(token: string | undefined, now: Date): Promise<StaffSession | undefined> {
      if (!token) return undefined;
      const idHash = sessionHash(token);
      const row = await store.findSession(idHash);
      if (!row) return undefined;
      if (now.getTime() - row.last_seen_at.getTime() > STAFF_IDLE_MS || now.getTime() - row.created_at.getTime() > STAFF_ABSOLUTE_MS) {
        await store.deleteSession(idHash);
        return undefined;
      }
      const [account, roles] = await Promise.all([deps.accountStore.findById(row.account_id), store.rolesOf(row.account_id)]);
      if (!account?.email || roles.length === 0) {
        await store.deleteSession(idHash);
        return undefined;
      }
      await store.touchSession(idHash, now);
      return {
        idHash,
        accountId: account.id,
        email: account.email,
        roles,
        secondFactorAt: row.second_factor_at,
        createdAt: row.created_at,
      };
    },
    async logOut(token: string | undefined): Promise<void> {
      if (token) await store.deleteSession(sessionHash(token));
    },

    /** The TOTP enrolment in progress (a new secret if none): secret and otpauth URI to show. */
    async enrolment(staff: StaffMember): Promise<{ enrolled: true } | { enrolled: false; secret: string; uri: string }> {
      let factor = await store.secondFactor(staff.accountId);
      if (factor?.confirmed_at) return { enrolled: true };
      if (!factor) {
        await store.startEnrolment(staff.accountId, deps.secrets.encrypt(authenticator.generateSecret(20)));
        factor = await store.secondFactor(staff.accountId);
      }
      const secret = deps.secrets.decrypt(factor!.totp_secret_encrypted);
      return { enrolled: false, secret, uri: authenticator.keyuri(staff.email, TOTP_ISSUER, secret) };
    },

    /**
     * Checks a TOTP code (or, once enrolled, a recovery code) and marks the session. Failures go
     * through the residents' throttle (5 free, then doubling delays). At enrolment, returns the
     * recovery codes, shown once.
     */
    async secondFactor(
      session: StaffSession,
      code: string,
      now: Date,
    ): Promise<{ ok: true; recoveryCodes?: string[] } | { ok: false; blockedUntil?: Date }> {
      const key = totpKey(session.accountId);
      const until = await deps.throttle.blockedUntil([key], now);
      if (until) return { ok: false, blockedUntil: until };
      const factor = await store.secondFactor(session.accountId);
      if (!factor) return { ok: false };
      const clean = code.replace(/\s/g, '');
      let ok = false;
      let recoveryCodes: string[] | undefined;
      if (/^\d{6}$/.test(clean)) {
        const delta = totp(now).checkDelta(clean, deps.secrets.decrypt(factor.totp_secret_encrypted));
        if (delta !== null) {
          const step = Math.floor(now.getTime() / 30_000) + delta;
          if (!factor.confirmed_at) {
            recoveryCodes = Array.from({ length: RECOVERY_CODES }, () =>
              randomBytes(5)
                .toString('hex')
                .replace(/^(.{5})/, '$1-'),
            );
            ok = await store.confirmEnrolment(session.accountId, recoveryCodes.map(recoveryHash), step, now);
          } else {
            ok = await store.useStep(session.accountId, step);
          }
        }
      } else if (factor.confirmed_at && clean.length >= 10) {
        ok = await store.useRecoveryCode(session.accountId, recoveryHash(clean));
      }
      if (!ok) {
        await deps.throttle.recordFailure([key], now);
        await deps.accountStore.recordEvent(session.accountId, 'staff_second_factor_failed', {});
        return { ok: false };
      }
      await deps.throttle.reset([key]);
      await store.touchSession(session.idHash, now, true);
      await deps.accountStore.recordEvent(session.accountId, recoveryCodes ? 'staff_second_factor_enrolled' : 'staff_second_factor', {});
      return { ok: true, recoveryCodes };
    },

    hasRecentSecondFactor: (session: StaffSession, now: Date) =>
      session.secondFactorAt !== null && now.getTime() - session.secondFactorAt.getTime() <= RECENT_SECOND_FACTOR_MS,

    /** Residents by a prefix (email, names, id) or a birth date (JJ/MM/AAAA): 20 a page. */
    async search(query: string, page: number) {
      const text = query.trim();
      if (text.length < 2) return [];
      const date = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
      const birthdate = date ? `${date[3]}-${date[2]}-${date[1]}` : /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : undefined;
      return store.searchResidents({ text, birthdate }, 21, Math.max(0, page - 1) * 20);
    },

    /** The account page: reading it is journalled, with its reason. */
    async viewAccount(actor: Actor, accountId: string, now: Date) {
      const account = await deps.accountStore.findById(accountId);
      if (!account) return undefined;
      await journal(actor, 'account_viewed', { accountId }, now);
      const [fcLinked, certified, services, events, sessions, loginBlock, staffRoles, warnings] = await Promise.all([
        store.linkedToFranceConnect(accountId),
        store.certifiedFields(accountId),
        store.connectedServices(accountId),
        deps.accountStore.listEvents(accountId, 15),
        listSessions(deps.db, accountId),
        deps.throttle.blockedUntil(keysOfAccount(accountId, account.email).failures, now),
        store.rolesOf(accountId),
        store.inactivityWarnings(accountId),
      ]);
      return {
        account,
        fcLinked,
        certified: certified.map((c) => c.field),
        services: services.map((s) => s.name),
        events,
        sessions: sessions.length,
        loginBlock,
        staffRoles,
        warnings,
        purgeAt: new Date(account.last_activity_at.getTime() + deps.inactivityDeleteAfterDays * 86_400_000),
      };
    },

    async liftBlock(actor: Actor, account: Account, now: Date): Promise<void> {
      // Every failure counter naming the account (its address's logins, its password checks).
      await deps.throttle.reset(keysOfAccount(account.id, account.email).failures);
      await journal(actor, 'throttle_lifted', { accountId: account.id }, now);
    },

    async sendReset(actor: Actor, account: Account, ip: string, now: Date): Promise<boolean> {
      if (!account.email) return false;
      const result = await deps.selfService.requestPasswordReset({ email: account.email, ip }, now);
      if (!result.ok) return false;
      // The residents' form sends after answering (no timing hint); the agent knows the account
      // exists, so the console waits and reports a mail really handed to the mailer.
      await deps.accounts.settled();
      await journal(actor, 'reset_mail_sent', { accountId: account.id }, now);
      return true;
    },

    async resendVerification(actor: Actor, account: Account, now: Date): Promise<boolean> {
      if (!account.email || account.email_verified_at) return false;
      await deps.accounts.sendVerification(account, now);
      await journal(actor, 'verification_mail_sent', { accountId: account.id }, now);
      return true;
    },

    async endAllSessions(actor: Actor, account: Account, now: Date): Promise<number> {
      const ended = await endSessions(deps, account.id);
      await journal(actor, 'sessions_ended', { accountId: account.id }, now, { sessions: ended });
      return ended;
    },

    /** Journalled before the deletion: the entry stays (with the account id only) as the proof. */
    async deleteAccount(actor: Actor, account: Account, now: Date): Promise<boolean> {
      await journal(actor, 'account_deleted', { accountId: account.id }, now);
      return (await deps.deletion.deleteAccount(account.id, 'operator', now)).deleted;
    },

    async grantFromConsole(actor: Actor, email: string, role: StaffRole, now: Date) {
      const result = await this.grant(email, role, actor.staff.email);
      if (result.ok) await journal(actor, 'role_granted', { accountId: result.accountId }, now, { role });
      return result;
    },
    async revokeFromConsole(actor: Actor, email: string, role: StaffRole, now: Date) {
      const account = await deps.accountStore.findByEmail(email.trim());
      const result = await this.revoke(email, role);
      if (result.ok && account) await journal(actor, 'role_revoked', { accountId: account.id }, now, { role });
      return result;
    },
    journal,

    async purgeSessions(now: Date): Promise<number> {
      return store.deleteStaleSessions(new Date(now.getTime() - STAFF_IDLE_MS), new Date(now.getTime() - STAFF_ABSOLUTE_MS));
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;

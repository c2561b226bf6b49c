// Rules of the resident's self-service: identity sheet, email and password changes, forgotten
// password, security page, data export, account deletion, purge of never-confirmed sign-ups.
// No ctx here: routes pass what they read from HTTP; times come in as `now`.
import { sql, type Transaction } from 'kysely';
import type { Account, Database } from '../db/schema.js';
import { endSessions, type SessionDeps } from '../oidc/sessions.js';
import { randomToken } from '../secrets.js';
import type { Config } from '../config.js';
import type { Secrets } from '../secrets.js';
import type { Mailer } from '../mail/mailer.js';
import type { Throttle } from '../http/throttle.js';
import type { AccountStore } from './store.js';
import type { AccountService } from './service.js';
import { emailSchema, hashEmailToken, type FieldErrors } from './service.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { changedFields, validateIdentity, type IdentityForm, type IdentityResult } from './identity.js';
import { THROTTLE } from './throttle-rules.js';
import { maskEmail } from '../http/labels.js';
import { keysOfAccount, throttleKeys } from './throttle-keys.js';
import { storedKeys } from '../http/throttle.js';

export const RESET_TOKEN_HOURS = 1;
export const EMAIL_CHANGE_TOKEN_HOURS = 24;
export const UNVERIFIED_SIGNUP_DAYS = 7;

export type Blocked = { ok: false; reason: 'blocked'; retryAt: Date };

/** Fields FranceConnect certified for the account. */
export interface CertifiedFieldsSource {
  certifiedFields(accountId: string): Promise<Set<string>>;
}

export async function certifiedFields(s: { franceConnect: CertifiedFieldsSource }, accountId: string): Promise<Set<string>> {
  return s.franceConnect.certifiedFields(accountId);
}

/** What the resident's self-service uses, and nothing more. */
export interface SelfServiceDeps extends SessionDeps {
  config: Pick<Config, 'issuer'>;
  accountStore: AccountStore;
  throttle: Throttle;
  mailer: Mailer;
  franceConnect: CertifiedFieldsSource;
  /** Work done after the answer (equal answer times), awaited on stop. */
  accounts: Pick<AccountService, 'later'>;
}

export function createSelfService(s: SelfServiceDeps) {
  const { accountStore: store, throttle, mailer, config, log } = s;
  const url = (path: string) => new URL(path, config.issuer).href;

  /**
   * Every email goes through here: at most THROTTLE.mail per hour to one recipient, to one
   * account and from one client IP. Over the limit the message is not sent (logged).
   */
  async function sendMail(
    to: string,
    template: string,
    vars: Record<string, unknown>,
    who: { accountId?: string; ip?: string },
    now: Date,
  ): Promise<boolean> {
    const keys = [throttleKeys.mailTo(to)];
    if (who.accountId) keys.push(throttleKeys.mailAccount(who.accountId));
    const perIp = who.ip ? await throttle.allow([throttleKeys.mailIp(who.ip)], THROTTLE.mailPerIp, now) : true;
    const allowed = (await throttle.allow(keys, THROTTLE.mailPerRecipient, now)) && perIp;
    if (!allowed) {
      log.warn({ event: 'mail_throttled', template }, 'mail not sent: hourly limit reached');
      return false;
    }
    await mailer.send(to, template, { helpUrl: url('/aide'), ...vars });
    return true;
  }

  const passwordKey = (account: Account) => throttleKeys.password(account.id);

  /**
   * The resident proves it is them with the current password before a sensitive change, with
   * the same throttling as a login. An account without a password (FranceConnect only) relies
   * on its recent login instead.
   */
  async function proveCurrentPassword(
    account: Account,
    password: string,
    now: Date,
    messages: { missing: string; wrong: string; failureEvent?: string },
  ): Promise<{ blocked?: Date; error?: string }> {
    if (!account.password_hash) return {};
    if (!password) return { error: messages.missing };
    // Counted before verifying (atomic admission, see throttle.admit()); refunded when right.
    const admission = await throttle.admit([{ key: passwordKey(account) }], now);
    if (!admission.ok) return { blocked: admission.until };
    if (await verifyPassword(account.password_hash, password)) {
      await throttle.refund(admission.reservation);
      return {};
    }
    if (messages.failureEvent) await store.recordEvent(account.id, messages.failureEvent);
    return { error: messages.wrong };
  }

  return {
    sendMail,

    async updateIdentity(
      account: Account,
      form: IdentityForm,
      now: Date,
    ): Promise<{ ok: true; changed: string[] } | ({ ok: false } & Pick<IdentityResult, 'errors' | 'birthplaceChoices'>)> {
      const certified = await certifiedFields(s, account.id);
      const result = validateIdentity(form, account, certified, now);
      if (Object.keys(result.errors).length) return { ok: false, errors: result.errors, birthplaceChoices: result.birthplaceChoices };
      const changed = changedFields(account, result.values);
      if (changed.length) {
        await store.update(account.id, Object.fromEntries(changed.map((f) => [f, result.values[f] ?? null])));
        await store.recordEvent(account.id, 'identity_updated', { fields: changed });
        log.info({ event: 'identity_updated', accountId: account.id, fields: changed.length }, 'identity sheet updated');
      }
      return { ok: true, changed };
    },

    /** Sends a link to the new address and tells the old one. The old address stays until the link is used. */
    async requestEmailChange(
      account: Account,
      input: { email: string; ip: string },
      now: Date,
    ): Promise<{ ok: true; email: string } | { ok: false; errors: FieldErrors } | Blocked> {
      const parsed = emailSchema.safeParse(input.email);
      if (!parsed.success)
        return { ok: false, errors: { email: 'Saisissez une adresse électronique valide, par exemple nom@exemple.fr.' } };
      const email = parsed.data;
      if (account.email && email.toLowerCase() === account.email.toLowerCase()) {
        return { ok: false, errors: { email: 'C’est déjà l’adresse de votre compte. Saisissez la nouvelle adresse.' } };
      }
      const quota = await throttle.consume(
        [throttleKeys.emailChange(account.id), throttleKeys.emailChangeIp(input.ip)],
        THROTTLE.emailChangesPerHour,
        now,
      );
      if (!quota.ok) return { ok: false, reason: 'blocked', retryAt: quota.retryAt };
      const owner = await store.findByEmail(email);
      if (owner) {
        // Same answer on the page; the owner of that address learns it by mail.
        await sendMail(
          email,
          'change-email-taken',
          { loginUrl: url('/compte'), resetUrl: url('/mot-de-passe-oublie') },
          { ip: input.ip },
          now,
        );
      } else {
        const token = randomToken();
        await store.insertEmailToken({
          tokenHash: hashEmailToken(token),
          accountId: account.id,
          purpose: 'change_email',
          newEmail: email,
          expiresAt: new Date(now.getTime() + EMAIL_CHANGE_TOKEN_HOURS * 3600_000),
        });
        const link = new URL('/compte/adresse-electronique/confirmer', config.issuer);
        link.searchParams.set('jeton', token);
        await sendMail(
          email,
          'change-email',
          { link: link.href, validHours: EMAIL_CHANGE_TOKEN_HOURS },
          { accountId: account.id, ip: input.ip },
          now,
        );
      }
      if (account.email) {
        await sendMail(
          account.email,
          'change-email-notice',
          { newEmail: maskEmail(email), securityUrl: url('/compte/securite'), resetUrl: url('/mot-de-passe-oublie') },
          { accountId: account.id, ip: input.ip },
          now,
        );
      }
      await store.recordEvent(account.id, 'email_change_requested');
      log.info({ event: 'email_change_requested', accountId: account.id }, 'email change requested');
      return { ok: true, email };
    },

    async confirmEmailChange(token: string, now: Date): Promise<'changed' | 'invalid' | 'taken'> {
      const result = await store.changeEmailWithToken(hashEmailToken(token), now);
      if (typeof result === 'string') return result;
      if (result.oldEmail) {
        await sendMail(
          result.oldEmail,
          'email-changed',
          { newEmail: maskEmail(result.newEmail), securityUrl: url('/compte/securite') },
          { accountId: result.accountId },
          now,
        );
      }
      log.info({ event: 'email_changed', accountId: result.accountId }, 'email changed');
      return 'changed';
    },

    /** Current password required; every other session of the account ends. */
    async changePassword(
      account: Account,
      input: { current: string; password: string; confirmation: string; sessionUid: string; ip: string },
      now: Date,
    ): Promise<{ ok: true } | { ok: false; errors: FieldErrors } | Blocked> {
      const proof = await proveCurrentPassword(account, input.current, now, {
        missing: 'Saisissez votre mot de passe actuel.',
        wrong: 'Le mot de passe actuel est incorrect.',
        failureEvent: 'password_change_failed',
      });
      if (proof.blocked) return { ok: false, reason: 'blocked', retryAt: proof.blocked };
      const errors: FieldErrors = proof.error ? { current: proof.error } : {};
      const weak = await passwordProblem(input.password, userInputs(account));
      if (weak) errors.password = weak;
      else if (input.password !== input.confirmation) errors.confirmation = 'Les deux mots de passe ne sont pas identiques.';
      if (Object.keys(errors).length) return { ok: false, errors };
      await throttle.reset([passwordKey(account)]);
      await store.update(account.id, { password_hash: await hashPassword(input.password), password_changed_at: now });
      await store.recordEvent(account.id, 'password_changed');
      const ended = await endSessions(s, account.id, { exceptSessionUid: input.sessionUid });
      if (account.email)
        await sendMail(
          account.email,
          'password-changed',
          { resetUrl: url('/mot-de-passe-oublie'), securityUrl: url('/compte/securite') },
          { accountId: account.id, ip: input.ip },
          now,
        );
      log.info({ event: 'password_changed', accountId: account.id, sessionsEnded: ended }, 'password changed');
      return { ok: true };
    },

    /** Same answer whether or not the address has an account; counted per IP and per address. */
    async requestPasswordReset(
      input: { email: string; ip: string },
      now: Date,
    ): Promise<{ ok: true } | { ok: false; errors: FieldErrors } | Blocked> {
      const parsed = emailSchema.safeParse(input.email);
      if (!parsed.success)
        return { ok: false, errors: { email: 'Saisissez une adresse électronique valide, par exemple nom@exemple.fr.' } };
      const email = parsed.data.toLowerCase();
      const [byIp, byEmail] = [
        await throttle.consume([throttleKeys.resetIp(input.ip)], THROTTLE.resetsPerIp, now),
        await throttle.consume([throttleKeys.resetEmail(email)], THROTTLE.resetsPerAddress, now),
      ];
      const blocked = [byIp, byEmail].find((q) => !q.ok);
      if (blocked && !blocked.ok) return { ok: false, reason: 'blocked', retryAt: blocked.retryAt };
      // Whether the address has an account shows in nothing before the answer: the lookup, the
      // link and the mail are done after it (src/accounts/deferred.ts).
      s.accounts.later('password_reset', async () => {
        const account = await store.findByEmail(email);
        if (account?.email) {
          const token = randomToken();
          await store.insertEmailToken({
            tokenHash: hashEmailToken(token),
            accountId: account.id,
            purpose: 'reset_password',
            expiresAt: new Date(now.getTime() + RESET_TOKEN_HOURS * 3600_000),
          });
          const link = new URL('/mot-de-passe-oublie/nouveau', config.issuer);
          link.searchParams.set('jeton', token);
          await sendMail(
            account.email,
            'reset-password',
            { link: link.href, validMinutes: RESET_TOKEN_HOURS * 60 },
            { accountId: account.id, ip: input.ip },
            now,
          );
          await store.recordEvent(account.id, 'password_reset_requested');
        }
        log.info({ event: 'password_reset_requested', known: Boolean(account) }, 'password reset requested');
      });
      return { ok: true };
    },

    async isResetLinkValid(token: string, now: Date): Promise<boolean> {
      return Boolean(token && (await store.findValidEmailToken(hashEmailToken(token), 'reset_password', now)));
    },

    /** Sets the new password from a valid link (once); every session of the account ends. */
    async resetPassword(
      input: { token: string; password: string; confirmation: string },
      now: Date,
    ): Promise<{ ok: true } | { ok: false; errors: FieldErrors } | { ok: false; reason: 'invalid' }> {
      const tokenHash = hashEmailToken(input.token);
      const pending = input.token ? await store.findValidEmailToken(tokenHash, 'reset_password', now) : undefined;
      if (!pending) return { ok: false, reason: 'invalid' };
      const account = await store.findById(pending.account_id);
      if (!account) return { ok: false, reason: 'invalid' };
      const weak = await passwordProblem(input.password, userInputs(account));
      if (weak) return { ok: false, errors: { password: weak } };
      if (input.password !== input.confirmation)
        return { ok: false, errors: { confirmation: 'Les deux mots de passe ne sont pas identiques.' } };
      const accountId = await store.resetPasswordWithToken(tokenHash, await hashPassword(input.password), now);
      if (!accountId) return { ok: false, reason: 'invalid' };
      if (account.email) await throttle.reset([throttleKeys.loginEmail(account.email)]);
      const ended = await endSessions(s, accountId);
      if (account.email)
        await sendMail(
          account.email,
          'password-changed',
          { resetUrl: url('/mot-de-passe-oublie'), securityUrl: url('/compte/securite') },
          { accountId },
          now,
        );
      log.info({ event: 'password_reset', accountId, sessionsEnded: ended }, 'password reset');
      return { ok: true };
    },

    /** « Me déconnecter partout »: every session of the account ends, this one included. */
    async logOutEverywhere(accountId: string): Promise<number> {
      const ended = await endSessions(s, accountId);
      await store.recordEvent(accountId, 'logout_everywhere', { sessions: ended });
      log.info({ event: 'logout_everywhere', accountId, sessionsEnded: ended }, 'logged out everywhere');
      return ended;
    },

    /** The password (or, for an account without one, the recent login) confirms the deletion. */
    async checkDeletion(
      account: Account,
      input: { password: string; confirmed: boolean },
      now: Date,
    ): Promise<{ ok: true } | { ok: false; errors: FieldErrors } | Blocked> {
      const proof = await proveCurrentPassword(account, input.password, now, {
        missing: 'Saisissez votre mot de passe pour confirmer.',
        wrong: 'Le mot de passe est incorrect.',
      });
      if (proof.blocked) return { ok: false, reason: 'blocked', retryAt: proof.blocked };
      const errors: FieldErrors = proof.error ? { password: proof.error } : {};
      if (!input.confirmed) errors.confirm = 'Cochez la case pour confirmer que vous voulez supprimer définitivement votre compte.';
      return Object.keys(errors).length ? { ok: false, errors } : { ok: true };
    },

    async purgeUnverifiedSignUps(now: Date): Promise<number> {
      return store.deleteUnverifiedBefore(new Date(now.getTime() - UNVERIFIED_SIGNUP_DAYS * 24 * 3600_000));
    },
  };
}
export type SelfService = ReturnType<typeof createSelfService>;

/**
 * The throttling counters keyed by accounts being deleted or their addresses (hashed keys, see
 * http/throttle.ts): one SELECT and one DELETE whatever the batch size.
 */
export async function deleteThrottleKeysOfAccounts(
  s: { secrets: Pick<Secrets, 'hmac'> },
  trx: Transaction<Database>,
  accountIds: string[],
): Promise<void> {
  if (!accountIds.length) return;
  const accounts = await trx
    .selectFrom('accounts')
    .select(['id', 'email'])
    .where(sql<boolean>`id = any(${accountIds}::uuid[])`)
    .execute();
  const keys = accounts.flatMap(({ id, email }) => storedKeys(s.secrets, keysOfAccount(id, email)));
  if (!keys.length) return;
  await trx
    .deleteFrom('rate_limits')
    .where(sql<boolean>`key = any(${keys}::text[])`)
    .execute();
}

function userInputs(account: Account): string[] {
  const words = [account.email, account.given_name, account.family_name, account.preferred_username].filter((x): x is string => Boolean(x));
  return [...words, ...words.flatMap((w) => w.split(/[@.\s-]/))].filter((w) => w.length > 2);
}

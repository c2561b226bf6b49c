// Rules of local accounts: sign-up, email verification, password login.
import { createHash } from 'node:crypto';
import { createDeferredWork } from './deferred.js';
import type { Logger } from '../log.js';
import { z } from 'zod';
import type { Account } from '../db/schema.js';
import type { Mailer } from '../mail/mailer.js';
import type { Throttle } from '../http/throttle.js';
import { randomToken } from '../secrets.js';
import type { AccountStore } from './store.js';
import { hashPassword, passwordProblem, verifyAgainstDecoy, verifyPassword } from './passwords.js';
import { THROTTLE } from './throttle-rules.js';
import { throttleKeys } from './throttle-keys.js';

export const EMAIL_TOKEN_HOURS = 24;
const EMAILS_PER_HOUR = THROTTLE.mailPerRecipient;

export const emailSchema = z.string().trim().max(254).pipe(z.email());

/** Tokens sent by email are stored hashed: a database leak does not give working links. */
export const hashEmailToken = (token: string) => createHash('sha256').update(token).digest('hex');

export type FieldErrors = Partial<Record<string, string>>;

export type LoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'blocked'; until: Date }
  | { ok: false; reason: 'unverified'; account: Account };

export type SignUpResult = { ok: true } | { ok: false; errors: FieldErrors; retryAt?: Date };

export function createAccountService(deps: { store: AccountStore; mailer: Mailer; throttle: Throttle; issuer: string; log?: Logger }) {
  const { store, mailer, throttle, issuer } = deps;
  const deferred = createDeferredWork(deps.log);

  async function sendVerification(account: Account, now: Date, returnTo?: string): Promise<void> {
    if (!account.email) return;
    if (!(await throttle.allow([throttleKeys.mailAccount(account.id), throttleKeys.mailTo(account.email)], EMAILS_PER_HOUR, now))) return;
    const token = randomToken();
    await store.insertEmailToken({
      tokenHash: hashEmailToken(token),
      accountId: account.id,
      purpose: 'verify_email',
      expiresAt: new Date(now.getTime() + EMAIL_TOKEN_HOURS * 3600_000),
    });
    const link = new URL('/inscription/confirmer', issuer);
    link.searchParams.set('jeton', token);
    if (returnTo) link.searchParams.set('retour', returnTo);
    await mailer.send(account.email, 'verify-email', { link: link.href, validHours: EMAIL_TOKEN_HOURS, helpUrl: `${issuer}/aide` });
  }

  return {
    sendVerification,
    /** Work done after an answer (see deferred.ts), shared with the self-service. */
    later: deferred.later,
    /** Resolves when the work done after answers is finished (tests, shutdown). */
    settled: deferred.settled,

    /** Creates an unverified account; the same answer whether or not the email is taken. */
    async signUp(
      input: { email: string; password: string; passwordConfirmation: string; ip?: string },
      now: Date,
      returnTo?: string,
    ): Promise<SignUpResult> {
      const errors: FieldErrors = {};
      const email = emailSchema.safeParse(input.email);
      if (!email.success) errors.email = 'Saisissez une adresse électronique valide, par exemple nom@exemple.fr.';
      const weak = await passwordProblem(input.password, email.success ? [email.data, ...email.data.split(/[@.]/)] : []);
      if (weak) errors.password = weak;
      else if (input.password !== input.passwordConfirmation)
        errors.passwordConfirmation = 'Les deux mots de passe ne sont pas identiques.';
      if (!email.success || Object.keys(errors).length) return { ok: false, errors };
      if (input.ip) {
        const quota = await throttle.consume([throttleKeys.signUpIp(input.ip)], THROTTLE.signUpsPerIp, now);
        if (!quota.ok) {
          const at = new Intl.DateTimeFormat('fr-FR', { timeStyle: 'short', timeZone: 'Europe/Paris' }).format(quota.retryAt);
          return {
            ok: false,
            retryAt: quota.retryAt,
            errors: {
              email: `Trop de comptes ont été créés depuis votre connexion internet. Pour votre sécurité, réessayez à partir de ${at}.`,
            },
          };
        }
      }

      // Same work before the answer whether or not the address has an account (the hash, always);
      // what depends on it (account, token, mail) is done after the answer: its time tells nothing.
      const passwordHash = await hashPassword(input.password);
      const address = email.data;
      deferred.later('signup', async () => {
        const existing = await store.findByEmail(address);
        if (existing) {
          // Someone may be trying to find out whether this email has an account: answer as for a
          // new one, and tell the owner by mail instead (when not verified yet, resend the link).
          if (!existing.email_verified_at) await sendVerification(existing, now, returnTo);
          else if (
            await throttle.allow([throttleKeys.mailAccount(existing.id), throttleKeys.mailTo(existing.email!)], EMAILS_PER_HOUR, now)
          ) {
            await mailer.send(existing.email!, 'signup-existing', {
              loginUrl: `${issuer}/compte`,
              resetUrl: `${issuer}/mot-de-passe-oublie`,
            });
          }
          return;
        }
        const account = await store.create({ email: address, passwordHash }, now);
        await store.recordEvent(account.id, 'signup', { method: 'password' });
        await sendVerification(account, now, returnTo);
      });
      return { ok: true };
    },

    async verifyEmail(token: string, now: Date): Promise<Account | undefined> {
      const used = await store.useEmailToken(hashEmailToken(token), 'verify_email', now);
      if (!used) return undefined;
      await store.update(used.account_id, { email_verified_at: now });
      await store.recordEvent(used.account_id, 'email_verified');
      return store.findById(used.account_id);
    },

    /** Password login with throttling per account and per client IP. One neutral failure. */
    async logIn(input: { email: string; password: string; ip: string }, now: Date): Promise<LoginResult> {
      const email = input.email.trim().toLowerCase();
      const keys = [throttleKeys.loginEmail(email), throttleKeys.loginIp(input.ip)];
      // Admitted (and counted) before the password is verified: see throttle.admit().
      const admission = await throttle.admit([{ key: keys[0]! }, { key: keys[1]!, freeFailures: THROTTLE.loginFreeFailuresPerIp }], now);
      if (!admission.ok) return { ok: false, reason: 'blocked', until: admission.until };
      const account = email ? await store.findByEmail(email) : undefined;
      const valid = account?.password_hash
        ? await verifyPassword(account.password_hash, input.password)
        : await verifyAgainstDecoy(input.password);
      if (!account || !valid) {
        if (account) await store.recordEvent(account.id, 'login_failed', { method: 'password' });
        return { ok: false, reason: 'invalid' };
      }
      // Not a failure: the account's failures are cleared, the address's reservation given back.
      await throttle.settle(admission.reservation, [keys[0]!]);
      if (!account.email_verified_at) return { ok: false, reason: 'unverified', account };
      await store.recordEvent(account.id, 'login', { method: 'password' });
      await store.touchActivity(account.id, now);
      return { ok: true, account };
    },
  };
}
export type AccountService = ReturnType<typeof createAccountService>;

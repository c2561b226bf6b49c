// The throttling rules of the account area, in one place (documented in docs/fiche-identite.md).
// Failures (wrong password) slow down then block a key: see src/http/throttle.ts (5 free
// failures per hour, then 30 s, 1 min, 2 min … up to 1 h). Counted actions allow N per hour.
export const THROTTLE = {
  /** Wrong passwords from one client IP before the delays start (an IP is shared by many people). */
  loginFreeFailuresPerIp: 20,
  /** Accounts created per hour from one client IP. */
  signUpsPerIp: 10,
  /** « Mot de passe oublié » requests per hour: per client IP, per address. */
  resetsPerIp: 10,
  resetsPerAddress: 3,
  /** Email-change requests per hour, per account and per client IP. */
  emailChangesPerHour: 3,
  /** Emails sent per hour to one recipient and for one account; from one client IP. */
  mailPerRecipient: 5,
  mailPerIp: 20,
} as const;

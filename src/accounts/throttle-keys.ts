// The names of every throttling key, built in one place: the routines that count and the
// deletion routine that removes an account's counters use the same builders, so a renamed key
// cannot leave counters behind. (How keys are stored — hashed, with a prefix for counted
// actions — is http/throttle.ts's business: see storedKeys there.)
const lower = (email: string) => email.toLowerCase();

export const throttleKeys = {
  /** Wrong passwords for one address (login), and from one client IP. */
  loginEmail: (email: string) => `login:email:${lower(email)}`,
  loginIp: (ip: string) => `login:ip:${ip}`,
  /** Wrong current passwords before a sensitive change. */
  password: (accountId: string) => `password:${accountId}`,
  /** Mails sent: for one account, to one address, from one client IP. */
  mailAccount: (accountId: string) => `mail:${accountId}`,
  mailTo: (email: string) => `mail:to:${lower(email)}`,
  mailIp: (ip: string) => `mail:ip:${ip}`,
  emailChange: (accountId: string) => `email-change:${accountId}`,
  emailChangeIp: (ip: string) => `email-change:ip:${ip}`,
  resetIp: (ip: string) => `reset:ip:${ip}`,
  resetEmail: (email: string) => `reset:email:${lower(email)}`,
  signUpIp: (ip: string) => `signup:ip:${ip}`,
  helpIp: (ip: string) => `help:ip:${ip}`,
} as const;

/** The keys that name one account or its address, by kind (removed with the account). */
export function keysOfAccount(accountId: string, email: string | null): { failures: string[]; counters: string[] } {
  return {
    failures: [throttleKeys.password(accountId), ...(email ? [throttleKeys.loginEmail(email)] : [])],
    counters: [
      throttleKeys.mailAccount(accountId),
      throttleKeys.emailChange(accountId),
      ...(email ? [throttleKeys.mailTo(email), throttleKeys.resetEmail(email)] : []),
    ],
  };
}

// Helpers of the account-area tests: a confirmed resident, and signing in to /compte through
// the real provider (login page of an authorization of the first-party client glc-compte).
import { listSessions } from '../src/oidc/sessions.js';
import { hashPassword } from '../src/accounts/passwords.js';
import type { Account, AccountUpdate } from '../src/db/schema.js';
import { Browser, type Page } from './support/browser.js';
import { STRONG_PASSWORD, type TestGlc } from './support/glc.js';

export async function createResident(glc: TestGlc, email: string, extra: AccountUpdate = {}, password = STRONG_PASSWORD): Promise<Account> {
  return glc.services.accountStore.create({ email, passwordHash: await hashPassword(password), emailVerifiedAt: new Date(), ...extra });
}

/** Opens `path` of the account area, logs in on the provider's page, and lands back on `path`. */
export async function signIn(glc: TestGlc, browser: Browser, email: string, path = '/compte', password = STRONG_PASSWORD): Promise<Page> {
  const login = await browser.follow(await browser.get(path));
  if (!/\/login"/.test(login.html)) throw new Error(`expected the login page, got ${login.status} at ${login.url}`);
  const done = await browser.follow(await browser.submit(login, /\/login$/, { email, password }));
  if (done.status !== 200) throw new Error(`sign-in to ${path} ended with ${done.status} at ${done.url}: ${done.html.slice(0, 300)}`);
  return done;
}

export async function residentBrowser(glc: TestGlc, email: string, path = '/compte'): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(glc.config.issuer);
  const page = await signIn(glc, browser, email, path);
  return { browser, page };
}

/** Moves the login time of every session of the account back (as if it happened `seconds` ago). */
export async function ageSessions(glc: TestGlc, accountId: string, seconds: number): Promise<void> {
  const rows = await listSessions(glc.services.db, accountId);
  for (const row of rows) {
    const payload = row.payload as { loginTs?: number };
    payload.loginTs = (payload.loginTs ?? Math.floor(Date.now() / 1000)) - seconds;
    await glc.services.db
      .updateTable('oidc_payloads')
      .set({ payload: JSON.stringify(payload) })
      .where('model', '=', 'Session')
      .where('id', '=', row.id)
      .execute();
  }
}

export function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

// Concurrent password guesses against one account, through two GLC instances sharing one
// PostgreSQL database: the per-account limit (5 failures, then a block) holds whatever the
// interleaving, because each check is admitted and counted in one statement before argon2 runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGlc } from '../src/server.js';
import { FREE_FAILURES } from '../src/http/throttle.js';
import { Browser, type Page } from './support/browser.js';
import {
  authorizationRequest,
  registerClient,
  startSecondInstance,
  startTestGlc,
  STRONG_PASSWORD,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import { createResident, residentBrowser } from './accounts-support.js';

let glc: TestGlc;
let second: RunningGlc;
let client: TestClient;

beforeAll(async () => {
  glc = await startTestGlc();
  second = await startSecondInstance(glc);
  client = await registerClient(glc);
}, 60_000);

afterAll(async () => {
  await second?.stop();
  await glc?.close();
});

/** A login page of a fresh authorization, in a fresh browser, served by `base`. */
async function loginPage(base: string): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(base);
  const pending = await authorizationRequest(client);
  const url = new URL(pending.url.pathname + pending.url.search, base);
  const page = await browser.follow(await browser.get(url.href));
  if (!/\/login"/.test(page.html)) throw new Error(`expected a login page, got ${page.status} at ${page.url}`);
  return { browser, page };
}

async function failures(accountId: string, type: string): Promise<number> {
  return (await glc.services.accountStore.listEvents(accountId)).filter((e) => e.type === type).length;
}

async function counters(): Promise<Record<string, string>> {
  const rows = await glc.services.db.selectFrom('rate_limits').select(['key', 'failures', 'blocked_until']).execute();
  return Object.fromEntries(rows.map((r) => [r.key, `${r.failures} ${r.blocked_until?.toISOString() ?? '-'}`]));
}

describe('credential checks are admitted atomically', () => {
  it('40 simultaneous guesses on one account through two instances evaluate at most 5; the right password is then refused', async () => {
    const email = 'cible@example.fr';
    const account = await createResident(glc, email);
    // 8 browser sessions, 4 on each instance, 5 guesses each, all sent at once.
    const sessions = await Promise.all(Array.from({ length: 8 }, (_, i) => loginPage(i % 2 ? second.url : glc.url)));
    const answers = await Promise.all(
      sessions.flatMap(({ browser, page }, i) =>
        Array.from({ length: 5 }, (_, j) => browser.submit(page, /\/login$/, { email, password: `mauvais mot de passe ${i}-${j}` })),
      ),
    );

    const evaluated = await failures(account.id, 'login_failed');
    expect(evaluated).toBeLessThanOrEqual(FREE_FAILURES);
    expect(evaluated).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(evaluated);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(40 - evaluated);

    // The right password, on either instance, is refused while the block lasts.
    for (const base of [glc.url, second.url]) {
      const { browser, page } = await loginPage(base);
      const answer = await browser.submit(page, /\/login$/, { email, password: STRONG_PASSWORD });
      expect(answer.status).toBe(429);
      expect(answer.html).toContain('Trop de tentatives de connexion');
    }
    expect(await failures(account.id, 'login_failed')).toBe(evaluated);
  }, 120_000);

  it('a right password is not counted as a failure: many simultaneous good logins from one address are all let in', async () => {
    const emails = Array.from({ length: 6 }, (_, i) => `resident${i}@example.fr`);
    await Promise.all(emails.map((e) => createResident(glc, e)));
    // Per-IP admission reserves then refunds: 6 good logins in parallel leave no failure behind.
    const sessions = await Promise.all(emails.map((_, i) => loginPage(i % 2 ? second.url : glc.url)));
    const before = await counters();
    const answers = await Promise.all(
      sessions.map(({ browser, page }, i) => browser.submit(page, /\/login$/, { email: emails[i]!, password: STRONG_PASSWORD })),
    );
    expect(answers.map((a) => a.status)).toEqual(emails.map(() => 303));
    expect(await counters()).toEqual(before);
  }, 120_000);

  it('the current-password check of the account area holds the same limit under concurrency', async () => {
    const email = 'compte@example.fr';
    const account = await createResident(glc, email);
    const { browser, page } = await residentBrowser(glc, email, '/compte/mot-de-passe');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        browser.submit(page, /mot-de-passe$/, {
          current: `faux ${i}`,
          password: 'girafe tram fourvière 1789 croissant',
          confirmation: 'girafe tram fourvière 1789 croissant',
        }),
      ),
    );
    const evaluated = await failures(account.id, 'password_change_failed');
    expect(evaluated).toBeLessThanOrEqual(FREE_FAILURES);
    expect(answers.filter((a) => a.status === 429).length).toBe(20 - evaluated);
  }, 120_000);
});

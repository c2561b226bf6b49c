// Journeys through GLC and the in-process FranceConnect mock, driven by the cookie-keeping
// Browser of test/support: real HTTP only.
import { Browser, type Page } from './support/browser.js';
import type { TestGlc } from './support/glc.js';
import type { DevMock } from '../src/franceconnect/service.js';

export function devMock(glc: TestGlc): DevMock {
  const mock = glc.services.franceConnect.devMock;
  if (!mock) throw new Error('the FranceConnect mock is not running');
  return mock;
}

/** Opens GLC's login page of an authorization (the account area's, a first-party client). */
export async function loginPage(glc: TestGlc, browser = new Browser(glc.config.issuer)): Promise<{ browser: Browser; page: Page }> {
  const page = await browser.follow(await browser.get('/compte/connexion'));
  if (!/\/interaction\/[^/]+$/.test(new URL(page.url).pathname)) throw new Error(`expected a login page, got ${page.url}`);
  return { browser, page };
}

/** Clicks « S’identifier avec FranceConnect »: returns the authorize URL GLC redirects to. */
export async function clickFranceConnect(browser: Browser, page: Page): Promise<URL> {
  const res = await browser.submit(page, /\/franceconnect$/);
  if (res.status !== 303 || !res.location)
    throw new Error(`expected a redirect to FranceConnect, got ${res.status}: ${res.html.slice(0, 300)}`);
  return new URL(res.location, res.url);
}

/** At the mock: picks a test identity (or cancels); returns where the mock sends the browser back. */
export async function atFranceConnect(browser: Browser, authorizeUrl: URL, login: string | 'cancel'): Promise<URL> {
  const first = await browser.get(authorizeUrl.href);
  if (first.status === 302 && first.location && !first.location.includes('/interaction/')) return new URL(first.location, first.url); // SSO session
  const form = await browser.follow(first);
  if (form.status !== 200) throw new Error(`mock login page: ${form.status} ${form.html.slice(0, 500)}`);
  const back = login === 'cancel' ? await cancel(browser, form) : await browser.submit(form, /\/login$/, { pick: login });
  if (!back.location) throw new Error(`mock did not redirect: ${back.status} ${back.html.slice(0, 500)}`);
  return new URL(back.location, back.url);
}

async function cancel(browser: Browser, form: Page): Promise<Page> {
  const action = /formaction="([^"]*cancel)"/.exec(form.html)![1]!;
  const csrf = /name="csrf_token" value="([^"]*)"/.exec(form.html)![1]!;
  return browser.post(new URL(action, form.url).href, { csrf_token: csrf });
}

/** GET the callback at GLC and follow GLC's own redirects (stops before leaving for a service). */
export async function backAtGlc(browser: Browser, callback: URL, stopAt: (u: URL) => boolean = isAccountAreaCallback): Promise<Page> {
  return browser.follow(await browser.get(callback.href), stopAt);
}

/** The authorization finished: the provider sends the browser to the account area's redirect URI. */
export const isAccountAreaCallback = (u: URL) => u.pathname === '/compte/callback';

/** Button → mock → callback → GLC's next page. */
export async function franceConnectLogin(
  glc: TestGlc,
  login: string,
  opened?: { browser: Browser; page: Page },
): Promise<{ browser: Browser; page: Page }> {
  const { browser, page } = opened ?? (await loginPage(glc));
  const authorize = await clickFranceConnect(browser, page);
  const callback = await atFranceConnect(browser, authorize, login);
  return { browser, page: await backAtGlc(browser, callback) };
}

export async function accountIdOfSub(glc: TestGlc, sub: string): Promise<string | undefined> {
  return (await glc.services.db.selectFrom('franceconnect_links').select('account_id').where('sub', '=', sub).executeTakeFirst())
    ?.account_id;
}

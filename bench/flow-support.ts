// A resident's browser through GLC's (or the bare provider's) pages until the service gets its code.
import { type Browser, type Page } from '../test/support/browser.js';

/** Follows redirects, signs in and consents when asked, until the browser is sent back to the service. */
export async function toCallback(
  browser: Browser,
  start: string,
  redirectUri: string,
  account: { email: string; password: string },
): Promise<URL> {
  let page: Page = await browser.follow(await browser.get(start), (u) => u.href.startsWith(redirectUri));
  for (let step = 0; step < 4 && !page.location?.startsWith(redirectUri); step++) {
    if (/action="[^"]*\/login"/.test(page.html)) page = await browser.submit(page, /\/login$/, account);
    else if (/action="[^"]*\/consent"/.test(page.html)) page = await browser.submit(page, /\/consent$/);
    else throw new Error(`unexpected page ${page.status} ${page.url}: ${page.html.slice(0, 200)}`);
    page = await browser.follow(page, (u) => u.href.startsWith(redirectUri));
  }
  if (!page.location?.startsWith(redirectUri)) throw new Error(`no redirect to the service from ${page.url}`);
  return new URL(page.location);
}

// The connection kit's snippets, run exactly as written in docs/kit-de-raccordement.md: each
// block follows a marker `<!-- extrait testé : NAME -->`; the tests write it to a file and run it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Page } from 'playwright-core';
import { hashPassword } from '../../src/accounts/passwords.js';
import { STRONG_PASSWORD, type TestGlc } from './glc.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KIT_PATH = join(root, 'docs', 'kit-de-raccordement.md');

/** The code block of the kit that follows `<!-- extrait testé : name -->`. */
export function snippet(name: string): string {
  const doc = readFileSync(KIT_PATH, 'utf8');
  const marker = `<!-- extrait testé : ${name} -->`;
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`no snippet « ${name} » in the kit`);
  const block = /```[a-z]*\n([\s\S]*?)\n```/.exec(doc.slice(at + marker.length));
  if (!block) throw new Error(`no code block after the marker « ${name} »`);
  return block[1]!;
}

/** Writes the snippet into the repository (so it resolves the pinned packages) and returns its path. */
export function writeSnippet(name: string, fileName: string): string {
  const dir = join(root, 'test', '.snippets');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName);
  writeFileSync(path, `${snippet(name)}\n`);
  return path;
}

export async function importSnippet<T>(name: string, fileName: string): Promise<T> {
  return (await import(pathToFileURL(writeSnippet(name, fileName)).href)) as T;
}

export interface Served {
  origin: string;
  close(): Promise<void>;
}

/** A service on its own origin: 127.0.0.1 (GLC runs on localhost, another site for the browser). */
export async function serve(handler: http.RequestListener, port = 0): Promise<Served> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const RESIDENT = { given_name: 'Camille', family_name: 'DUBOIS', birthdate: '1990-05-17' };

/** A resident with a confirmed email and names in the identity sheet. */
export async function createResident(glc: TestGlc, email: string): Promise<string> {
  const account = await glc.services.accountStore.create({
    email,
    passwordHash: await hashPassword(STRONG_PASSWORD),
    emailVerifiedAt: new Date(),
  });
  await glc.services.accountStore.update(account.id, RESIDENT);
  return account.id;
}

/** On GLC's login page: signs in, and consents if GLC asks. */
export async function signInAtGlc(page: Page, glc: TestGlc, email: string): Promise<void> {
  await page.waitForURL((u) => u.origin === glc.config.issuer && u.pathname.startsWith('/interaction/'));
  await page.fill('#email', email);
  await page.fill('#password', STRONG_PASSWORD);
  await page.click('button:has-text("Se connecter")');
  await page.waitForLoadState();
  if (new URL(page.url()).origin === glc.config.issuer && (await page.getByRole('button', { name: 'Autoriser' }).count()) > 0) {
    await page.getByRole('button', { name: 'Autoriser' }).click();
  }
}

/** On GLC's logout confirmation page: confirms. */
export async function confirmLogoutAtGlc(page: Page, glc: TestGlc): Promise<void> {
  await page.waitForURL((u) => u.origin === glc.config.issuer && u.pathname.startsWith('/session/end'));
  await page.getByRole('button', { name: 'Me déconnecter' }).click();
}

/** The authorization requests the page sends to GLC (what the library puts in them). */
export function recordAuthorizeRequests(page: Page, glc: TestGlc): URLSearchParams[] {
  const sent: URLSearchParams[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === glc.config.issuer && u.pathname === '/auth') sent.push(u.searchParams);
  });
  return sent;
}

/** What a library sent: PKCE S256 always (GLC refuses otherwise), state and nonce as it chose. */
export function checksSent(params: URLSearchParams): { pkce: string | null; state: boolean; nonce: boolean } {
  return { pkce: params.get('code_challenge_method'), state: params.has('state'), nonce: params.has('nonce') };
}

/**
 * The journey every server-side snippet with refresh is held to (the service answers JSON):
 * /login → GLC login → state, nonce and PKCE sent → the resident's name and email → two refreshes
 * with rotation → /logout confirmed at GLC → back on the service, signed out.
 */
export async function serverSideJourney(
  page: Page,
  glc: TestGlc,
  base: string,
  email: string,
  signedOut: Record<string, unknown>,
): Promise<void> {
  const authorizeRequests = recordAuthorizeRequests(page, glc);
  await page.goto(`${base}/login`);
  await signInAtGlc(page, glc, email);
  expect(checksSent(authorizeRequests[0]!)).toEqual({ pkce: 'S256', state: true, nonce: true }); // as the kit says (§ 15)
  await page.waitForURL((u) => u.origin === base && u.pathname === '/');
  expect(JSON.parse(await page.locator('body').innerText())).toEqual({ connecte: true, nom: 'Camille DUBOIS', email });

  for (let i = 0; i < 2; i++) {
    await page.goto(`${base}/rafraichir`);
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ renouvele: true });
  }

  await page.goto(`${base}/logout`);
  await confirmLogoutAtGlc(page, glc);
  await page.waitForURL((u) => u.origin === base && u.pathname === '/');
  expect(JSON.parse(await page.locator('body').innerText())).toEqual(signedOut);
}

/**
 * The service a snippet runs in, on a loopback port for the whole test file: it answers 503 until
 * the test loads the snippet and hands its handler over with `use`.
 */
export function snippetService(): { readonly origin: string; use(handler: http.RequestListener): void } {
  let served: Served | undefined;
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  beforeAll(async () => {
    served = await serve((req, res) => handler(req, res));
  });
  afterAll(async () => {
    await served?.close();
  });
  return {
    get origin() {
      return served!.origin;
    },
    use(next) {
      handler = next;
    },
  };
}

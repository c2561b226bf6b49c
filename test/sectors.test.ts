// Pairwise subjects are per sector. By default the sector is the host of the redirect URIs, so
// two services on one host know a resident by the same sub; a service registered with its own
// sector (glc client add --sector) gets subjects of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { runCli } from '../src/cli/main.js';
import {
  authorizationRequest,
  callbackUrl,
  newResidentAuthorizes,
  registerClient,
  startTestGlc,
  type TestClient,
  type TestGlc,
} from './support/glc.js';
import type { Browser } from './support/browser.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
}, 60_000);
afterAll(async () => {
  await glc?.close();
});

async function subOf(browser: Browser, client: TestClient): Promise<string> {
  const pending = await authorizationRequest(client, { scope: 'openid' });
  let page = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
  if (!page.location?.startsWith(client.redirectUri))
    page = await browser.follow(await browser.submit(page, /\/consent$/), (u) => u.href.startsWith(client.redirectUri));
  const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
  return tokens.claims()!.sub;
}

describe('pairwise sectors', () => {
  it('two services on one host share the sub by default; with different sectors they do not', async () => {
    const register = (path: string, sector?: string) =>
      registerClient(glc, { scope: 'openid', claimsRequired: [], redirectUris: [`http://127.0.0.1:9/${path}`], ...(sector && { sector }) });
    const bibliotheque = await register('bibliotheque');
    const piscine = await register('piscine');
    const cantine = await register('cantine', 'cantine.villeurbanne');
    const creche = await register('creche', 'creche.villeurbanne');
    const { browser } = await newResidentAuthorizes(
      glc,
      bibliotheque,
      await authorizationRequest(bibliotheque, { scope: 'openid' }),
      'secteurs@example.fr',
    );

    const subs = {
      bibliotheque: await subOf(browser, bibliotheque),
      piscine: await subOf(browser, piscine),
      cantine: await subOf(browser, cantine),
      creche: await subOf(browser, creche),
    };
    expect(subs.piscine).toBe(subs.bibliotheque); // same host, no sector: one sector
    expect(subs.cantine).not.toBe(subs.bibliotheque);
    expect(subs.creche).not.toBe(subs.cantine);
    expect(new Set(Object.values(subs)).size).toBe(3);

    // An update of the service keeps its sector (and so every sub it knows).
    await glc.services.clients.update(cantine.clientId, { name: 'Cantine scolaire' });
    expect(await subOf(browser, cantine)).toBe(subs.cantine);
  }, 60_000);

  it('glc client add --sector registers it; a malformed sector is refused', async () => {
    let out = '';
    const code = await runCli(
      ['client', 'add', '--name', 'Crèche', '--redirect-uri', 'https://www.villeurbanne.fr/creche/cb', '--sector', 'creche', '--json'],
      (t) => {
        out += t;
      },
      { services: glc.services },
    );
    expect(code).toBe(0);
    const { client_id } = JSON.parse(out) as { client_id: string };
    expect((await glc.services.clientStore.find(client_id))!.metadata).toMatchObject({ glc_sector: 'creche' });
    expect(
      await runCli(['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.fr/cb', '--sector', 'Pas Bon!'], () => undefined, {
        services: glc.services,
      }),
    ).toBe(2);
  });
});

// The whole FranceConnect journey in Chromium, with the keyboard alone on a phone-sized screen:
// /demo → GLC login page → « S’identifier avec FranceConnect » → the local FranceConnect's login
// page → back to GLC → « Créer mon compte » → consent → /demo shows verified_claims.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { glcWithChromium } from './support/browser-suite.js';

const suite = glcWithChromium();

const focused = (page: Page, selector: string) => page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector);

/** Presses Tab until `selector` has the focus (the keyboard is the only way in). */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await focused(page, selector)) return;
  }
  throw new Error(`${selector} not reachable with the keyboard on ${page.url()}`);
}

async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.type(text);
}

const noHorizontalScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

describe('FranceConnect in Chromium', () => {
  it('takes a newcomer from a service through FranceConnect to a new account and back, keyboard only, at 375 px', async () => {
    const context = await suite.chromium.newContext({ viewport: { width: 375, height: 740 }, locale: 'fr-FR' });
    const page = await context.newPage();
    const widths: Record<string, boolean> = {};
    const check = async (step: string) => {
      widths[step] = await noHorizontalScroll(page);
    };

    await page.goto(`${suite.glc.config.issuer}/demo`);
    await tabTo(page, 'a[href="/demo/login"]');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/interaction\/[^/]+$/);
    await check('GLC login page');

    // The official button: exact accessible name, colours, logo, and the « Qu’est-ce que… » link.
    const button = page.getByRole('button', { name: 'S’identifier avec FranceConnect', exact: true });
    expect(await button.count()).toBe(1);
    // Separated by a space in the text itself, not only by layout (a <br> or blocks): the name is
    // the same in every browser and assistive technology, not only in Chromium’s computation.
    expect((await button.textContent())!.replace(/\s+/g, ' ').trim()).toBe('S’identifier avec FranceConnect');
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(0, 0, 145)');
    expect(await button.locator('svg.fc-logo').count()).toBe(1);
    const what = page.getByRole('link', { name: 'Qu’est-ce que FranceConnect ?' });
    expect(await what.getAttribute('href')).toBe('https://franceconnect.gouv.fr/');
    expect(await what.getAttribute('target')).toBe('_blank');
    expect(await what.getAttribute('rel')).toContain('noopener');
    expect(await what.getAttribute('title')).toBe('Qu’est-ce que FranceConnect ? - nouvelle fenêtre');
    // The button comes first: the first thing the keyboard reaches in the page’s main content.
    await tabTo(page, 'button.franceconnect-button');
    expect(
      await page.evaluate(() => {
        const main = document.querySelector('main')!;
        const first = main.querySelector('a[href], button, input:not([type=hidden])');
        return first === document.activeElement;
      }),
    ).toBe(true);
    await page.keyboard.press('Enter');

    // The local FranceConnect: identifier and password of a test identity, Enter.
    await page.waitForURL(/\/franceconnect-mock\/api\/v2\/interaction\//);
    await check('FranceConnect login page');
    await typeInto(page, '#login', 'naissance_corse_2a');
    await typeInto(page, '#password', '123');
    await page.keyboard.press('Enter');

    // Back at GLC: nobody holds this identity, the resident creates an account from it.
    await page.getByRole('heading', { level: 1, name: 'Première connexion avec FranceConnect' }).waitFor();
    await check('choice page');
    await tabTo(page, 'form[action$="/franceconnect/creer"] button');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Créer mon compte');
    await page.keyboard.press('Enter');

    // Consent: the certified identity is optional, never ticked in advance; Space ticks it.
    await page.getByRole('button', { name: 'Autoriser' }).waitFor();
    await check('consent page');
    expect(await page.isChecked('#facultatif-verified_claims')).toBe(false);
    await tabTo(page, '#facultatif-verified_claims');
    await page.keyboard.press('Space');
    expect(await page.isChecked('#facultatif-verified_claims')).toBe(true);
    await tabTo(page, '#consentement button[type=submit]');
    await page.keyboard.press('Enter');

    await page.waitForURL(`${suite.glc.config.issuer}/demo`);
    await check('demo service');
    const userinfo = JSON.parse((await page.getByTestId('userinfo').textContent())!) as Record<string, unknown>;
    expect(userinfo).toMatchObject({
      family_name: 'SANTONI',
      verified_claims: {
        verification: {
          trust_framework: 'eidas',
          assurance_level: 'low',
          evidence: [{ type: 'electronic_record', record: { type: 'france_connect', source: { name: 'FranceConnect' } } }],
        },
        // Birthplace and birth country are optional data of the demo, not ticked: not released.
        claims: { given_name: 'Paul', family_name: 'SANTONI', birthdate: '1958-02-28', gender: 'male' },
      },
    });
    expect(Object.keys((userinfo.verified_claims as { claims: object }).claims).sort()).toEqual([
      'birthdate',
      'family_name',
      'gender',
      'given_name',
    ]);
    const idToken = JSON.parse((await page.getByTestId('id-token').textContent())!) as Record<string, unknown>;
    expect(idToken).toMatchObject({ acr: 'eidas1', amr: ['fc'] });
    expect(widths).toEqual({
      'GLC login page': true,
      'FranceConnect login page': true,
      'choice page': true,
      'consent page': true,
      'demo service': true,
    });
    await context.close();
  });

  it('draws the button’s hover state in FranceConnect’s hover blue', async () => {
    const context = await suite.chromium.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    await page.goto(`${suite.glc.config.issuer}/demo/login`);
    const button = page.getByRole('button', { name: 'S’identifier avec FranceConnect', exact: true });
    await button.hover();
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(18, 18, 255)');
    await context.close();
  });
});

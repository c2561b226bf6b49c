// What README promises a newcomer, in a real browser: at /demo, sign up, confirm the email
// from the dev mailbox, log in, consent, and see the claims the demo service received.
// Everything is done with the keyboard only, at phone width.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { tabTo, typeInto } from './support/chromium.js';
import { STRONG_PASSWORD } from './support/glc.js';
import { glcWithChromium } from './support/browser-suite.js';

const suite = glcWithChromium();

/** Reaches the element with the keyboard and presses Enter. */
async function activate(page: Page, selector: string): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.press('Enter');
}

describe('the demo service in Chromium', () => {
  it('lets a newcomer sign up and log in with the keyboard alone on a phone-sized screen', async () => {
    const context = await suite.chromium.newContext({ viewport: { width: 375, height: 740 }, locale: 'fr-FR' });
    const page = await context.newPage();
    await page.goto(`${suite.glc.config.issuer}/demo`);
    await activate(page, 'a[href="/demo/login"]');
    await page.waitForURL(/\/interaction\//);
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    await activate(page, 'a[href$="/inscription"]');
    await page.waitForURL(/inscription/);
    await typeInto(page, '#email', 'chromium@example.fr');
    await typeInto(page, '#password', STRONG_PASSWORD);
    await typeInto(page, '#passwordConfirmation', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vérifiez votre messagerie' }).waitFor();

    await suite.glc.services.accounts.settled(); // the account and its mail are made after the answer
    const link = suite.glc.linkInLastMail('chromium@example.fr', /http\S+\/inscription\/confirmer\S+/);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Votre adresse est confirmée' }).waitFor();
    await activate(page, 'a.button');
    await page.waitForURL(/\/interaction\//);

    await typeInto(page, '#email', 'chromium@example.fr');
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Autoriser' }).waitFor();
    await activate(page, 'button[type=submit]:not(.button-secondary)');
    await page.waitForURL(`${suite.glc.config.issuer}/demo`);
    const userinfo = await page.getByTestId('userinfo').textContent();
    expect(JSON.parse(userinfo!)).toMatchObject({ email: 'chromium@example.fr', email_verified: true });
    await context.close();
  });

  it('shows a wrong password next to the form, in French, without revealing whether the account exists', async () => {
    const context = await suite.chromium.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.glc.config.issuer}/demo/login`);
    await page.fill('#email', 'personne@example.fr');
    await page.fill('#password', 'mauvais mot de passe');
    await page.click('button:has-text("Se connecter")');
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toContain('Adresse électronique ou mot de passe incorrect.');
    expect(await page.getAttribute('#password', 'aria-invalid')).toBe('true');
    await context.close();
  });
});

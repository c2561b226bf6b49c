// The identity sheet in Chromium, as a resident on a phone would use it with the keyboard
// alone: sign in, fill the sheet, see the errors next to the fields, correct, save.
import { describe, expect, it } from 'vitest';
import { noHorizontalScroll, tabTo, typeInto } from './support/chromium.js';
import { STRONG_PASSWORD } from './support/glc.js';
import { glcWithChromium } from './support/browser-suite.js';
import { createResident } from './accounts-support.js';

const suite = glcWithChromium();

describe('identity sheet in Chromium', () => {
  it('is filled and corrected with the keyboard alone at 375 px, without horizontal scrolling', async () => {
    const account = await createResident(suite.glc, 'clavier@example.fr');
    const context = await suite.chromium.newContext({ viewport: { width: 375, height: 740 }, locale: 'fr-FR' });
    const page = await context.newPage();
    await page.goto(`${suite.glc.config.issuer}/compte/identite`);
    await page.waitForURL(/\/interaction\//);
    await typeInto(page, '#email', 'clavier@example.fr');
    await typeInto(page, '#password', STRONG_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/compte\/identite$/);
    await page.getByRole('heading', { level: 1, name: 'Ma fiche d’identité' }).waitFor();
    expect(await noHorizontalScroll(page)).toBe(true);

    await typeInto(page, '#given_name', 'Marie Claire');
    await typeInto(page, '#family_name', 'Dupont');
    await typeInto(page, '#birthdate', '31');
    await typeInto(page, '#birthdate-month', '02');
    await typeInto(page, '#birthdate-year', '1990');
    await tabTo(page, 'input[name="gender"]:checked');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await page.isChecked('#gender')).toBe(true);
    await tabTo(page, '#birthcountry');
    await page.keyboard.press('ArrowDown'); // France, first in the list
    await typeInto(page, '#birthplace', 'Villeurbanne');
    await typeInto(page, '#phone_number', '04 72 00 00 00');
    await page.keyboard.press('Enter');

    // 31 February: the error is summarised at the top and shown next to the date.
    await page.getByRole('heading', { name: /Le formulaire contient 1 erreur/ }).waitFor();
    expect(await page.getAttribute('#birthdate', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#birthdate-erreur')).toContain('Cette date n’existe pas');
    expect(await page.getAttribute('#erreurs a[href="#birthdate"]', 'href')).toBe('#birthdate');
    expect(await page.inputValue('#given_name')).toBe('Marie Claire'); // what was typed is kept
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? suite.glc.config.dataDir}/fiche-erreur-375.png`, fullPage: true });

    // The error link leads to the field; correct it and save with Enter.
    await tabTo(page, '#erreurs a[href="#birthdate"]');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#birthdate');
    await page.keyboard.press('Tab'); // keyboard navigation now starts at the date field
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('birthdate-month');
    await typeInto(page, '#birthdate', '28');
    await page.keyboard.press('Enter');
    await page.getByText('Votre fiche d’identité est enregistrée').waitFor();
    expect(await page.textContent('main')).toContain('Villeurbanne (69), code INSEE 69266');
    expect(await noHorizontalScroll(page)).toBe(true);
    expect(await suite.glc.services.accountStore.findById(account.id)).toMatchObject({
      given_name: 'Marie Claire',
      family_name: 'Dupont',
      birthdate: '1990-02-28',
      gender: 'female',
      birthcountry: '99100',
      birthplace: '69266',
      phone_number: '+33472000000',
    });

    // Every other page of the account area fits the phone screen too.
    for (const path of [
      '/compte',
      '/compte/securite',
      '/compte/mes-donnees',
      '/compte/supprimer',
      '/compte/mot-de-passe',
      '/compte/adresse-electronique',
    ]) {
      await page.goto(`${suite.glc.config.issuer}${path}`);
      expect(await noHorizontalScroll(page), path).toBe(true);
    }
    await context.close();
  });
});

// The identity sheet (/compte/identite): validation of every field through real HTTP, certified
// fields refusing edits, and the claims services receive (the single mapping of account-claims).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { startTestGlc, registerClient, authorizationRequest, followToCallback, callbackUrl, type TestGlc } from './support/glc.js';
import { createResident, residentBrowser, signIn, text } from './accounts-support.js';
import { normalisePhone, parseBirthdate, resolveBirthplace, validateIdentity } from '../src/accounts/identity.js';
import type { Account } from '../src/db/schema.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
});
afterAll(async () => {
  await glc?.close();
});

const VALID = {
  given_name: 'Marie Claire',
  family_name: 'Dupont-Martin',
  preferred_username: 'N’Diaye',
  birthdate_day: '24',
  birthdate_month: '8',
  birthdate_year: '1962',
  gender: 'female',
  birthcountry: '99100',
  birthplace: '69381',
  phone_number: '06 12 34 56 78',
  address_street: '20 rue du Lac',
  address_postal_code: '69003',
  address_locality: 'Lyon',
  address_country: '99100',
};

describe('identity sheet over HTTP', () => {
  it('saves a complete valid sheet, shows the commune name with its INSEE code, and records the change', async () => {
    const account = await createResident(glc, 'fiche@example.fr');
    const { browser, page } = await residentBrowser(glc, 'fiche@example.fr', '/compte/identite');
    expect(page.html).toContain('Ma fiche d’identité');
    const saved = await browser.submit(page, /\/compte\/identite$/, VALID);
    expect(saved.status).toBe(303);
    const after = await browser.get(saved.location!);
    expect(after.html).toContain('Votre fiche d’identité est enregistrée');
    expect(text(after.html)).toContain('Lyon 1er Arrondissement (69), code INSEE 69381');
    const stored = (await glc.services.accountStore.findById(account.id))!;
    expect(stored).toMatchObject({
      given_name: 'Marie Claire',
      family_name: 'Dupont-Martin',
      preferred_username: 'N’Diaye',
      birthdate: '1962-08-24',
      gender: 'female',
      birthcountry: '99100',
      birthplace: '69381',
      phone_number: '+33612345678',
      address_street: '20 rue du Lac',
      address_postal_code: '69003',
      address_locality: 'Lyon',
      address_country: 'France',
    });
    const events = await glc.services.accountStore.listEvents(account.id);
    expect(events[0]!.type).toBe('identity_updated');
    expect(JSON.stringify(events[0]!.detail)).not.toContain('Marie'); // field names only, no values

    // A commune name is accepted when it names one commune; several: the choices are listed.
    const byName = await browser.submit(after, /\/compte\/identite$/, { ...VALID, birthplace: 'villeurbanne' });
    expect(byName.status).toBe(303);
    expect((await glc.services.accountStore.findById(account.id))!.birthplace).toBe('69266');
    const ambiguous = await browser.submit(await browser.get('/compte/identite'), /\/compte\/identite$/, {
      ...VALID,
      birthplace: 'Saint-Martin',
    });
    expect(ambiguous.status).toBe(400);
    expect(text(ambiguous.html)).toContain('Plusieurs communes portent ce nom');
    expect(ambiguous.html).toMatch(/code <strong>\d{5}<\/strong>/);

    // A foreign-born resident has no birthplace; clearing optional fields works.
    const foreign = await browser.submit(await browser.get('/compte/identite'), /\/compte\/identite$/, {
      ...VALID,
      birthcountry: '99352',
      birthplace: '',
      phone_number: '',
      address_street: '',
      address_postal_code: '',
      address_locality: '',
    });
    expect(foreign.status).toBe(303);
    expect(await glc.services.accountStore.findById(account.id)).toMatchObject({
      birthcountry: '99352',
      birthplace: null,
      phone_number: null,
      address_street: null,
      address_country: null,
    });
  });

  it('refuses each invalid field with a French message next to it, and changes nothing', async () => {
    const account = await createResident(glc, 'erreurs@example.fr', { given_name: 'Paul' });
    const { browser, page } = await residentBrowser(glc, 'erreurs@example.fr', '/compte/identite');
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ given_name: 'Jean2' }, 'given_name', /seuls les lettres/],
      [{ family_name: '<script>' }, 'family_name', /seuls les lettres/],
      [{ preferred_username: 'x'.repeat(101) }, 'preferred_username', /100 caractères au plus/],
      [{ birthdate_day: '31', birthdate_month: '2', birthdate_year: '1990' }, 'birthdate', /n’existe pas/],
      [{ birthdate_day: '1', birthdate_month: '1', birthdate_year: '2999' }, 'birthdate', /dans le futur/],
      [{ birthdate_day: '1', birthdate_month: '', birthdate_year: '1990' }, 'birthdate', /jour, le mois et l’année/],
      [{ birthdate_day: '1', birthdate_month: '1', birthdate_year: '1850' }, 'birthdate', /1900 ou après/],
      [{ gender: 'robot' }, 'gender', /une des réponses proposées/],
      [{ birthcountry: '99999' }, 'birthcountry', /dans la liste/],
      [{ birthcountry: '99100', birthplace: '' }, 'birthplace', /naissance en France, indiquez la commune/],
      [{ birthcountry: '99352', birthplace: '69123' }, 'birthplace', /hors de France, laissez la commune de naissance vide/],
      [{ birthplace: '69999' }, 'birthplace', /aucune commune.*n’est pas son code postal/],
      [{ birthplace: 'Atlantide' }, 'birthplace', /Aucune commune ne porte ce nom/],
      [{ birthcountry: '', birthplace: '69123' }, 'birthcountry', /pays de naissance/],
      [{ phone_number: '12345' }, 'phone_number', /numéro de téléphone valide/],
      [{ address_street: '', address_postal_code: '69003' }, 'address_street', /numéro et la voie/],
      [{ address_postal_code: '6900' }, 'address_postal_code', /5 chiffres/],
      [{ address_postal_code: '69999' }, 'address_postal_code', /n’existe pas en France/],
      [{ address_locality: '' }, 'address_locality', /Indiquez la ville/],
      [{ address_country: '99141' }, 'address_country', /pays de l’adresse/],
    ];
    for (const [change, field, message] of cases) {
      const res = await browser.submit(page, /\/compte\/identite$/, { ...VALID, ...change });
      expect(res.status, field).toBe(400);
      expect(res.html, field).toMatch(new RegExp(`id="${field}-erreur"`));
      expect(text(res.html), field).toMatch(message);
      expect(res.html, field).toContain(`href="#${field}"`); // error summary links to the field
      expect(res.html, field).toMatch(/aria-invalid="true"/);
    }
    expect((await glc.services.accountStore.findById(account.id))!.given_name).toBe('Paul');
  });

  it('shows certified fields with their mark, refuses any edit of them, and still saves the others', async () => {
    const account = await createResident(glc, 'certifiee@example.fr', {
      given_name: 'Angela Claire Louise',
      family_name: 'DUBOIS',
      birthdate: '1962-08-24',
      gender: 'female',
      birthplace: '75107',
      birthcountry: '99100',
    });
    const certified = await certify(account.id, ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry']);
    if (!certified)
      return expect.fail(
        'no certification store: the FranceConnect domain does not expose franceconnect_certified_fields / certifiedFields',
      );
    const { browser, page } = await residentBrowser(glc, 'certifiee@example.fr', '/compte/identite');
    expect((page.html.match(/certifié par FranceConnect<\/span>/g) ?? []).length).toBeGreaterThanOrEqual(6);
    expect(page.html).not.toMatch(/name="given_name"/);
    expect(text(page.html)).toContain('Paris 7e Arrondissement (75), code INSEE 75107');

    for (const forged of <Record<string, string>[]>[
      { given_name: 'Angèle' },
      { family_name: 'DURAND' },
      { birthdate_day: '25', birthdate_month: '08', birthdate_year: '1962' },
      { gender: 'male' },
      { birthplace: '69123' },
      { birthcountry: '99352' },
    ]) {
      const res = await browser.submit(page, /\/compte\/identite$/, forged);
      expect(res.status).toBe(400);
      expect(text(res.html)).toContain('certifiée par FranceConnect et ne peut pas être modifiée ici');
    }
    const ok = await browser.submit(page, /\/compte\/identite$/, { preferred_username: 'MARTIN', phone_number: '+33 4 72 00 00 00' });
    expect(ok.status).toBe(303);
    expect(await glc.services.accountStore.findById(account.id)).toMatchObject({
      given_name: 'Angela Claire Louise',
      birthdate: '1962-08-24',
      preferred_username: 'MARTIN',
      phone_number: '+33472000000',
    });
  });

  it('releases the sheet as standard claims, by scope', async () => {
    const account = await createResident(glc, 'claims@example.fr');
    const { browser, page } = await residentBrowser(glc, 'claims@example.fr', '/compte/identite');
    expect((await browser.submit(page, /\/compte\/identite$/, VALID)).status).toBe(303);
    const client = await registerClient(glc, {
      scope: 'openid profile email phone address birth',
      redirectUris: ['http://127.0.0.1:9/claims'],
    });
    const pending = await authorizationRequest(client, { scope: 'openid profile email phone address birth' });
    let res = await browser.follow(await browser.get(pending.url.href), (u) => u.href.startsWith(client.redirectUri));
    if (/\/consent"/.test(res.html)) res = await followToCallback(browser, await browser.submit(res, /\/consent$/), client.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(res), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const info = await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub);
    expect(info).toMatchObject({
      given_name: 'Marie Claire',
      family_name: 'Dupont-Martin',
      preferred_username: 'N’Diaye',
      birthdate: '1962-08-24',
      gender: 'female',
      email: 'claims@example.fr',
      email_verified: true,
      phone_number: '+33612345678',
      phone_number_verified: false,
      address: { street_address: '20 rue du Lac', postal_code: '69003', locality: 'Lyon', country: 'France' },
      birthplace: '69381',
      birthcountry: '99100',
    });
    expect(account.id).toBeTruthy();
  });

  it('sends a resident who is not signed in to the login page first', async () => {
    await createResident(glc, 'redirige@example.fr');
    const { Browser } = await import('./support/browser.js');
    const browser = new Browser(glc.config.issuer);
    const first = await browser.get('/compte/identite');
    expect(first.status).toBe(302);
    expect(first.location).toMatch(/^\/compte\/connexion\?retour=%2Fcompte%2Fidentite/);
    const page = await signIn(glc, browser, 'redirige@example.fr', '/compte/identite');
    expect(page.url).toMatch(/\/compte\/identite$/);
  });
});

describe('field rules', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it('normalises phone numbers to E.164', () => {
    expect(normalisePhone('06 12 34 56 78')).toBe('+33612345678');
    expect(normalisePhone('+33 (0)6 12 34 56 78')).toBe('+33612345678');
    expect(normalisePhone('0033 4.72.00.00.00')).toBe('+33472000000');
    expect(normalisePhone('+32 2 123 45 67')).toBe('+3221234567');
    expect(normalisePhone('00 12')).toBeNull();
    expect(normalisePhone('06 12 34')).toBeNull();
  });
  it('parses birth dates, leap years included', () => {
    expect(parseBirthdate('29', '2', '2000', now)).toEqual({ value: '2000-02-29' });
    expect(parseBirthdate('29', '2', '1900', now)).toHaveProperty('error');
    expect(parseBirthdate('', '', '', now)).toEqual({ value: null });
  });
  it('knows Corsican, overseas and former commune codes (as FranceConnect sends them)', () => {
    for (const code of ['2A004', '2b033', '97411', '98729', '97502', '69123', '69381'])
      expect(resolveBirthplace(code)).toHaveProperty('commune');
    expect(resolveBirthplace('20004')).toHaveProperty('commune'); // Ajaccio before 1976
  });
  it('keeps a certified « unspecified » gender and refuses it otherwise', () => {
    const account = { gender: 'unspecified' } as Account;
    expect(validateIdentity({ gender: 'unspecified' }, account, new Set(), now).values.gender).toBe('unspecified');
    expect(validateIdentity({ gender: 'unspecified' }, { gender: null } as Account, new Set(), now).errors.gender).toBeDefined();
  });
});

/** Marks fields certified the way the FranceConnect domain stores them; false when it does not exist. */
async function certify(accountId: string, fields: string[]): Promise<boolean> {
  const db = glc.services.db;
  const account = (await glc.services.accountStore.findById(accountId))!;
  const exists = await db
    .selectFrom('information_schema.tables' as never)
    .select('table_name' as never)
    .where('table_name' as never, '=', 'franceconnect_certified_fields' as never)
    .executeTakeFirst();
  if (!exists) return false;
  for (const field of fields) {
    await db
      .insertInto('franceconnect_certified_fields')
      .values({
        account_id: accountId,
        field,
        value: String((account as unknown as Record<string, unknown>)[field] ?? ''),
        acr: 'eidas1',
        certified_at: new Date(),
      } as never)
      .execute();
  }
  const fc = glc.services.franceConnect as { certifiedFields?: (id: string) => Promise<Iterable<string>> } | undefined;
  return typeof fc?.certifiedFields === 'function';
}

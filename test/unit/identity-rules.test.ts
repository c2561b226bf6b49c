// Rules of the identity sheet (src/accounts/identity.ts): each field's accepted values, the
// stored form, and certified fields refusing edits. Pure functions; INSEE tables in memory.
import { describe, expect, it } from 'vitest';
import {
  birthcountryText,
  birthplaceText,
  changedFields,
  normalisePhone,
  parseBirthdate,
  resolveBirthplace,
  validateIdentity,
  type IdentityForm,
} from '../../src/accounts/identity.js';
import type { Account } from '../../src/db/schema.js';

const NOW = new Date('2026-11-30T12:00:00Z');

function account(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acc-1',
    email: 'angela@example.fr',
    email_verified_at: new Date('2026-01-01T00:00:00Z'),
    password_hash: null,
    password_changed_at: null,
    given_name: null,
    family_name: null,
    preferred_username: null,
    birthdate: null,
    gender: null,
    birthplace: null,
    birthcountry: null,
    phone_number: null,
    address_street: null,
    address_postal_code: null,
    address_locality: null,
    address_country: null,
    created_at: new Date('2026-01-01T00:00:00Z'),
    updated_at: new Date('2026-01-01T00:00:00Z'),
    last_activity_at: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  };
}

/** A complete, valid sheet as the form posts it. */
const VALID: IdentityForm = {
  given_name: 'Angela Claire Louise',
  family_name: 'Dubois',
  preferred_username: '',
  birthdate_day: '24',
  birthdate_month: '8',
  birthdate_year: '1962',
  gender: 'female',
  birthcountry: '99100',
  birthplace: '69266',
  phone_number: '06 12 34 56 78',
  address_street: '20 rue du Lac',
  address_postal_code: '69003',
  address_locality: 'Lyon',
  address_country: '',
};

const NONE = new Set<string>();
const validate = (changes: IdentityForm, acc: Account = account(), certified: ReadonlySet<string> = NONE) =>
  validateIdentity({ ...VALID, ...changes }, acc, certified, NOW);

describe('parseBirthdate', () => {
  it('pads day and month and returns the ISO date', () => {
    expect(parseBirthdate('24', '8', '1962', NOW)).toEqual({ value: '1962-08-24' });
    expect(parseBirthdate(' 4 ', ' 08 ', ' 1962 ', NOW)).toEqual({ value: '1962-08-04' });
  });

  it('an empty date is no date; a partial one is an error', () => {
    expect(parseBirthdate('', '', '', NOW)).toEqual({ value: null });
    expect(parseBirthdate('  ', ' ', '', NOW)).toEqual({ value: null });
    for (const [d, m, y] of [
      ['24', '8', ''],
      ['', '8', '1962'],
      ['24', '', '1962'],
    ] as const) {
      expect(parseBirthdate(d, m, y, NOW)).toHaveProperty('error');
    }
  });

  it('refuses non-numeric parts and wrong lengths', () => {
    for (const [d, m, y] of [
      ['2a', '8', '1962'],
      ['24', 'août', '1962'],
      ['24', '8', '62'],
      ['24', '8', '01962'],
      ['024', '8', '1962'],
      ['24', '008', '1962'],
      ['-1', '8', '1962'],
    ] as const) {
      expect(parseBirthdate(d, m, y, NOW), `${d}/${m}/${y}`).toEqual({ error: expect.stringMatching(/en chiffres/) });
    }
  });

  it('refuses dates that do not exist', () => {
    for (const [d, m, y] of [
      ['30', '2', '2000'],
      ['29', '2', '2001'],
      ['31', '4', '1990'],
      ['0', '5', '1990'],
      ['1', '0', '1990'],
      ['1', '13', '1990'],
      ['32', '1', '1990'],
    ] as const) {
      expect(parseBirthdate(d, m, y, NOW), `${d}/${m}/${y}`).toEqual({ error: expect.stringMatching(/n’existe pas/) });
    }
  });

  it('accepts 29 February of a leap year only (2000 yes, 1900 no)', () => {
    expect(parseBirthdate('29', '2', '2000', NOW)).toEqual({ value: '2000-02-29' });
    expect(parseBirthdate('29', '2', '1900', NOW)).toHaveProperty('error');
  });

  it('1900 is the first year accepted', () => {
    expect(parseBirthdate('1', '1', '1900', NOW)).toEqual({ value: '1900-01-01' });
    expect(parseBirthdate('31', '12', '1899', NOW)).toEqual({ error: expect.stringMatching(/1900/) });
    expect(parseBirthdate('1', '1', '0999', NOW)).toEqual({ error: expect.stringMatching(/1900/) });
  });

  it('today is accepted, tomorrow is in the future', () => {
    expect(parseBirthdate('30', '11', '2026', NOW)).toEqual({ value: '2026-11-30' });
    expect(parseBirthdate('1', '12', '2026', NOW)).toEqual({ error: expect.stringMatching(/futur/) });
    expect(parseBirthdate('1', '1', '2027', NOW)).toEqual({ error: expect.stringMatching(/futur/) });
  });
});

describe('normalisePhone', () => {
  it.each([
    ['06 12 34 56 78', '+33612345678'],
    ['0612345678', '+33612345678'],
    ['06.12.34.56.78', '+33612345678'],
    ['06-12-34-56-78', '+33612345678'],
    ['06‐12‐34‐56‐78', '+33612345678'],
    ['01 23 45 67 89', '+33123456789'],
    ['+33 6 12 34 56 78', '+33612345678'],
    ['+33 (0)6 12 34 56 78', '+33612345678'],
    ['+33 0 6 12 34 56 78', '+33612345678'],
    ['0033 6 12 34 56 78', '+33612345678'],
    ['0033 (0) 6 12 34 56 78', '+33612345678'],
    ['+32 2 123 45 67', '+3221234567'],
    ['00 32 2 123 45 67', '+3221234567'],
    ['+1 (202) 555-0123', '+12025550123'],
    ['+123456789012345', '+123456789012345'],
  ])('%s → %s', (raw, e164) => {
    expect(normalisePhone(raw)).toBe(e164);
  });

  it.each([
    [''],
    ['abc'],
    ['06 12 34 56'],
    // A French number with one digit too few or too many is not a foreign number.
    ['+33 6 12 34 56 7'],
    ['+33 6 12 34 56 78 9'],
    ['0033 6 12 34 56 7'],
    ['06 12 34 56 78 9'],
    ['+0 6 12 34 56 78'],
    ['+1234567890123456'],
    ['+123456'],
    ['6 12 34 56 78'],
    ['06 12 34 56 7a'],
  ])('%s is not a phone number', (raw) => {
    expect(normalisePhone(raw)).toBeNull();
  });
});

describe('resolveBirthplace', () => {
  it('finds a commune by INSEE code, Corsican codes in any case', () => {
    expect(resolveBirthplace('69123')).toMatchObject({ commune: { code: '69123', name: 'Lyon' } });
    expect(resolveBirthplace(' 2a004 ')).toMatchObject({ commune: { code: '2A004', name: 'Ajaccio' } });
    expect(resolveBirthplace('69381')).toMatchObject({ commune: { code: '69381' } });
    expect(resolveBirthplace('97411')).toMatchObject({ commune: { code: '97411' } });
  });

  it('refuses an unknown code with a hint that a postal code is not an INSEE code', () => {
    expect(resolveBirthplace('00000')).toEqual({ error: expect.stringMatching(/code postal/) });
    expect(resolveBirthplace('2A000')).toHaveProperty('error');
  });

  it('refuses partial codes and names with digits', () => {
    for (const raw of ['6912', '691234', 'Lyon 3']) {
      expect(resolveBirthplace(raw), raw).toEqual({ error: expect.stringMatching(/code INSEE à 5 caractères/) });
    }
  });

  it('finds a commune by its unique name, ignoring case, accents and hyphens', () => {
    expect(resolveBirthplace('Villeurbanne')).toMatchObject({ commune: { code: '69266' } });
    expect(resolveBirthplace('VILLEURBANNE')).toMatchObject({ commune: { code: '69266' } });
    expect(resolveBirthplace('albigny sur saone')).toMatchObject({ commune: { code: '69003' } });
  });

  it('an ambiguous name gives the list of communes to choose from', () => {
    const r = resolveBirthplace('Saint-Priest');
    expect(r).toHaveProperty('error');
    if (!('error' in r)) throw new Error('expected an error');
    expect(r.choices!.length).toBeGreaterThan(1);
    expect(r.choices!.map((c) => c.code)).toContain('69290');
    expect(r.choices!.every((c) => /Saint-Priest/.test(c.label))).toBe(true);
  });

  it('an unknown name is an error without choices', () => {
    const r = resolveBirthplace('Nullepartville');
    expect(r).toEqual({ error: expect.stringMatching(/Aucune commune/) });
  });
});

describe('validateIdentity', () => {
  it('accepts a valid sheet and normalises every value', () => {
    const r = validateIdentity({ ...VALID, given_name: '  Angela   Claire Louise ', address_postal_code: ' 69003 ' }, account(), NONE, NOW);
    expect(r.errors).toEqual({});
    expect(r.values).toEqual({
      given_name: 'Angela Claire Louise',
      family_name: 'Dubois',
      preferred_username: null,
      birthdate: '1962-08-24',
      gender: 'female',
      birthcountry: '99100',
      birthplace: '69266',
      phone_number: '+33612345678',
      address_street: '20 rue du Lac',
      address_postal_code: '69003',
      address_locality: 'Lyon',
      address_country: 'France',
    });
    expect(r.birthplaceChoices).toBeUndefined();
  });

  it('an empty sheet clears every field without error', () => {
    const r = validateIdentity({}, account(), NONE, NOW);
    expect(r.errors).toEqual({});
    expect(Object.values(r.values).every((v) => v === null)).toBe(true);
    expect(Object.keys(r.values).sort()).toEqual([
      'address_country',
      'address_locality',
      'address_postal_code',
      'address_street',
      'birthcountry',
      'birthdate',
      'birthplace',
      'family_name',
      'gender',
      'given_name',
      'phone_number',
      'preferred_username',
    ]);
  });

  it('a birthplace given by name is stored as its INSEE code', () => {
    expect(validate({ birthplace: 'villeurbanne' }).values.birthplace).toBe('69266');
  });

  describe('names', () => {
    it.each(['Jean-Paul', 'N’Diaye', "O'Neil", 'J. Paul', 'Zoë', 'Анна', '李'])('accepts %s', (name) => {
      const r = validate({ given_name: name });
      expect(r.errors).toEqual({});
      expect(r.values.given_name).toBe(name);
    });

    it.each(['Jean2', 'Jean--Paul', 'Jean -Paul', "Jean ''Paul", '-Jean', '.Jean', 'Jean_Paul', 'Jean@'])('refuses %s', (name) => {
      expect(validate({ given_name: name }).errors.given_name).toMatch(/Prénoms/);
      expect(validate({ given_name: name }).values).not.toHaveProperty('given_name');
    });

    it('100 characters at most', () => {
      expect(validate({ family_name: 'A'.repeat(100) }).errors).toEqual({});
      expect(validate({ family_name: 'A'.repeat(101) }).errors.family_name).toMatch(/100 caractères/);
    });

    it('the usage name follows the same rules', () => {
      expect(validate({ preferred_username: 'Martin' }).values.preferred_username).toBe('Martin');
      expect(validate({ preferred_username: 'M4rtin' }).errors.preferred_username).toMatch(/Nom d’usage/);
    });
  });

  it('birth date errors are reported on the birthdate field', () => {
    expect(validate({ birthdate_day: '30', birthdate_month: '2' }).errors.birthdate).toMatch(/n’existe pas/);
    expect(validate({ birthdate_year: '2027' }).errors.birthdate).toMatch(/futur/);
  });

  describe('gender', () => {
    it('female, male or empty', () => {
      expect(validate({ gender: 'male' }).values.gender).toBe('male');
      expect(validate({ gender: '' }).values.gender).toBeNull();
      expect(validate({ gender: 'other' }).errors.gender).toBeDefined();
      expect(validate({ gender: 'Female' }).errors.gender).toBeDefined();
    });

    it('unspecified is kept only when it already came from FranceConnect', () => {
      expect(validate({ gender: 'unspecified' }).errors.gender).toBeDefined();
      expect(validate({ gender: 'unspecified' }, account({ gender: 'unspecified' })).values.gender).toBe('unspecified');
    });
  });

  describe('birth country and birthplace', () => {
    it('refuses an unknown country code; a former country is fine for a birth', () => {
      expect(validate({ birthcountry: '99999', birthplace: '' }).errors.birthcountry).toBeDefined();
      const r = validate({ birthcountry: '99115', birthplace: '' });
      expect(r.errors).toEqual({});
      expect(r.values.birthcountry).toBe('99115');
      expect(r.values.birthplace).toBeNull();
    });

    it('born in France: the commune is required', () => {
      expect(validate({ birthplace: '' }).errors.birthplace).toMatch(/naissance en France/);
    });

    it('born abroad: the commune must be empty', () => {
      expect(validate({ birthcountry: '99131', birthplace: '69123' }).errors.birthplace).toMatch(/hors de France/);
    });

    it('a commune without a country asks for the country', () => {
      const r = validate({ birthcountry: '', birthplace: '69123' });
      expect(r.errors.birthcountry).toMatch(/pays de naissance/);
      expect(r.values).not.toHaveProperty('birthplace');
    });

    it('an ambiguous commune name returns the choices with the error', () => {
      const r = validate({ birthplace: 'Saint-Priest' });
      expect(r.errors.birthplace).toMatch(/Plusieurs communes/);
      expect(r.birthplaceChoices!.map((c) => c.code)).toContain('69290');
    });
  });

  it('an invalid phone number is refused; an empty one clears it', () => {
    expect(validate({ phone_number: '12345' }).errors.phone_number).toBeDefined();
    expect(validate({ phone_number: '  ' }).values.phone_number).toBeNull();
  });

  describe('address', () => {
    it('a partial address lists every missing part', () => {
      const r = validate({ address_street: '', address_postal_code: '69003', address_locality: '' });
      expect(Object.keys(r.errors).sort()).toEqual(['address_locality', 'address_street']);
      expect(r.values).not.toHaveProperty('address_postal_code');
    });

    it('a French postal code has 5 digits and must exist', () => {
      expect(validate({ address_postal_code: '6900' }).errors.address_postal_code).toMatch(/5 chiffres/);
      expect(validate({ address_postal_code: '69999' }).errors.address_postal_code).toMatch(/n’existe pas/);
    });

    it('a foreign address takes a foreign postal code, upper-cased, and stores the country name', () => {
      const r = validate({
        address_street: '10 Downing Street',
        address_postal_code: 'sw1a 2aa',
        address_locality: 'London',
        address_country: '99132',
      });
      expect(r.errors).toEqual({});
      expect(r.values).toMatchObject({ address_postal_code: 'SW1A 2AA', address_country: 'Royaume-Uni' });
      expect(validate({ address_country: '99132', address_postal_code: 'SW1A_2AA' }).errors.address_postal_code).toBeDefined();
    });

    it('a former country is refused for an address, as an unknown one', () => {
      expect(validate({ address_country: '99142' }).errors.address_country).toBeDefined();
      expect(validate({ address_country: '12345' }).errors.address_country).toBeDefined();
    });

    it('street at most 200 characters, town at most 100', () => {
      expect(validate({ address_street: 'x'.repeat(200) }).errors).toEqual({});
      expect(validate({ address_street: 'x'.repeat(201) }).errors.address_street).toMatch(/200/);
      expect(validate({ address_locality: 'x'.repeat(101) }).errors.address_locality).toMatch(/100/);
    });
  });

  describe('certified fields', () => {
    const certifiedAccount = account({
      given_name: 'Angela Claire Louise',
      family_name: 'DUBOIS',
      birthdate: '1962-08-24',
      gender: 'female',
      birthcountry: '99100',
      birthplace: '2A004',
    });
    const ALL = new Set(['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry']);
    const withoutPivot: IdentityForm = {
      preferred_username: 'Martin',
      phone_number: '',
      address_street: '',
      address_postal_code: '',
      address_locality: '',
    };

    it('are not part of the values when the form does not send them', () => {
      const r = validateIdentity(withoutPivot, certifiedAccount, ALL, NOW);
      expect(r.errors).toEqual({});
      for (const f of ALL) expect(r.values, f).not.toHaveProperty(f);
      expect(r.values.preferred_username).toBe('Martin');
    });

    it('sending the same value is accepted (spaces, date padding and code case aside)', () => {
      const form: IdentityForm = {
        ...withoutPivot,
        given_name: ' Angela  Claire Louise',
        family_name: 'DUBOIS',
        birthdate_day: '24',
        birthdate_month: '08',
        birthdate_year: '1962',
        gender: 'female',
        birthcountry: '99100',
        birthplace: '2a004',
      };
      const r = validateIdentity(form, certifiedAccount, ALL, NOW);
      expect(r.errors).toEqual({});
      for (const f of ALL) expect(r.values, f).not.toHaveProperty(f);
    });

    it.each([
      ['given_name', { given_name: 'Angèle' }],
      ['family_name', { family_name: 'Martin' }],
      ['birthdate', { birthdate_day: '25', birthdate_month: '8', birthdate_year: '1962' }],
      ['birthdate', { birthdate_day: '', birthdate_month: '', birthdate_year: '' }],
      ['gender', { gender: 'male' }],
      ['birthcountry', { birthcountry: '99131' }],
      ['birthplace', { birthplace: '69123' }],
      ['birthplace', { birthplace: '' }],
    ] as const)('a different %s is refused with the certification message', (field, change) => {
      const r = validateIdentity({ ...withoutPivot, ...change }, certifiedAccount, ALL, NOW);
      expect(Object.keys(r.errors)).toEqual([field]);
      expect(r.errors[field]).toMatch(/certifiée par FranceConnect/);
      expect(r.values).not.toHaveProperty(field);
    });

    it('an invalid value sent for a certified field is refused as a change, not validated as input', () => {
      const r = validateIdentity(
        { ...withoutPivot, given_name: 'Jean2', birthdate_day: '30', birthdate_month: '2', birthdate_year: '1962' },
        certifiedAccount,
        ALL,
        NOW,
      );
      expect(r.errors.given_name).toMatch(/certifiée/);
      expect(r.errors.birthdate).toMatch(/certifiée/);
    });

    it('only the certified fields are locked: the others stay editable', () => {
      const some = new Set(['given_name', 'family_name']);
      const r = validateIdentity({ ...VALID, given_name: undefined, family_name: undefined, gender: 'male' }, certifiedAccount, some, NOW);
      expect(r.errors).toEqual({});
      expect(r.values).not.toHaveProperty('given_name');
      expect(r.values.gender).toBe('male');
      expect(r.values.birthdate).toBe('1962-08-24');
    });

    it('a certified foreign birth country forbids a commune even if the form sends France', () => {
      const abroad = account({ birthcountry: '99131', birthplace: null });
      const r = validateIdentity({ ...VALID, birthcountry: undefined, birthplace: '69123' }, abroad, new Set(['birthcountry']), NOW);
      expect(r.errors.birthplace).toMatch(/hors de France/);
    });
  });
});

describe('changedFields', () => {
  it('lists the fields whose value differs, null and undefined being the same', () => {
    const acc = account({ given_name: 'Angela', family_name: 'DUBOIS', phone_number: null });
    expect(changedFields(acc, { given_name: 'Angela', family_name: 'Dubois', phone_number: null })).toEqual(['family_name']);
    expect(changedFields(acc, { phone_number: undefined, birthdate: null })).toEqual([]);
    expect(changedFields(acc, { given_name: null, birthdate: '1962-08-24' })).toEqual(['given_name', 'birthdate']);
  });

  it('only looks at the submitted fields', () => {
    expect(changedFields(account({ given_name: 'Angela' }), {})).toEqual([]);
  });
});

describe('birthplaceText and birthcountryText', () => {
  it('show the name with the INSEE code', () => {
    expect(birthplaceText('69123')).toBe('Lyon (69), code INSEE 69123');
    expect(birthplaceText('2A004')).toBe('Ajaccio (2A), code INSEE 2A004');
    expect(birthcountryText('99100')).toBe('France (99100)');
  });

  it('say when a country no longer exists', () => {
    expect(birthcountryText('99115')).toBe('Tchécoslovaquie (jusqu’en 1993) (99115)');
  });

  it('fall back to the bare code when it is unknown, and stay empty when there is none', () => {
    expect(birthplaceText('99999')).toBe('99999');
    expect(birthcountryText('12345')).toBe('12345');
    expect(birthplaceText('')).toBe('');
    expect(birthcountryText('')).toBe('');
  });
});

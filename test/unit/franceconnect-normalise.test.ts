// The FranceConnect identity pivot as GLC reads it and compares it with a declared identity
// (src/franceconnect/normalise.ts). Pure functions.
import { describe, expect, it } from 'vitest';
import {
  birthdateForms,
  identityFromUserinfo,
  normaliseGender,
  normaliseName,
  pivotMatches,
  type DeclaredIdentity,
  type FcIdentity,
} from '../../src/franceconnect/normalise.js';

const SUB = `${'a1'.repeat(32)}v1`;

const USERINFO = {
  sub: SUB,
  given_name: 'Angela Claire Louise',
  family_name: 'DUBOIS',
  birthdate: '1962-08-24',
  gender: 'female',
  birthplace: '75107',
  birthcountry: '99100',
  email: 'angela@example.fr',
  preferred_username: 'MARTIN',
};

function fc(pivot: Partial<FcIdentity['pivot']> = {}, idpBirthdate?: string): FcIdentity {
  return {
    sub: SUB,
    pivot: {
      given_name: 'Angela Claire Louise',
      family_name: 'DUBOIS',
      birthdate: '1962-08-24',
      gender: 'female',
      birthplace: '75107',
      birthcountry: '99100',
      ...pivot,
    },
    email: undefined,
    preferredUsername: undefined,
    idpBirthdate,
    acr: 'eidas1',
  };
}

const DECLARED: DeclaredIdentity = {
  given_name: 'Angela Claire Louise',
  family_name: 'Dubois',
  birthdate: '1962-08-24',
  gender: 'female',
  birthplace: '75107',
  birthcountry: '99100',
};

describe('normaliseName', () => {
  it.each([
    ['Marie-Hélène  d’Arc', 'MARIE HELENE D ARC'],
    ["marie-hélène d'arc", 'MARIE HELENE D ARC'],
    ['MARIE HELENE D ARC', 'MARIE HELENE D ARC'],
    ['  Zoë   Ñúñez ', 'ZOE NUNEZ'],
    ['François—Xavier', 'FRANCOIS XAVIER'],
    ['Jean–Paul', 'JEAN PAUL'],
    ['J.-P. Lefèvre', 'J P LEFEVRE'],
    ['N‘Diaye', 'N DIAYE'],
    ['N`Diaye', 'N DIAYE'],
    ['Ève,Anne', 'EVE ANNE'],
  ])('%s → %s', (raw, normalised) => {
    expect(normaliseName(raw)).toBe(normalised);
  });

  it('null and undefined normalise to an empty string', () => {
    expect(normaliseName(null)).toBe('');
    expect(normaliseName(undefined)).toBe('');
  });

  it('keeps the letters: different names stay different', () => {
    expect(normaliseName('Dubois')).not.toBe(normaliseName('Duboix'));
    expect(normaliseName('Anne Marie')).not.toBe(normaliseName('Annemarie'));
  });
});

describe('normaliseGender', () => {
  it.each([
    ['male', 'male'],
    ['M', 'male'],
    [' Homme ', 'male'],
    ['MASCULIN', 'male'],
    ['female', 'female'],
    ['f', 'female'],
    ['Femme', 'female'],
    ['Féminin', 'female'],
    ['feminin', 'female'],
    ['unspecified', 'unspecified'],
    ['Non précisé', 'unspecified'],
    ['non precise', 'unspecified'],
    ['autre', 'unspecified'],
  ])('%s → %s', (raw, gender) => {
    expect(normaliseGender(raw)).toBe(gender);
  });

  it('leaves unknown values as they are (lower-cased), so that they never match a known gender', () => {
    expect(normaliseGender(' X ')).toBe('x');
    expect(normaliseGender(null)).toBe('');
    expect(normaliseGender(undefined)).toBe('');
  });
});

describe('birthdateForms', () => {
  it('a presumed date has its padded and its raw form', () => {
    expect(birthdateForms('1962-01-01', '1962-00-00')).toEqual(new Set(['1962-01-01', '1962-00-00']));
  });

  it('an exact date has one form', () => {
    expect(birthdateForms('1962-08-24', undefined)).toEqual(new Set(['1962-08-24']));
    expect(birthdateForms('1962-08-24', '1962-08-24')).toEqual(new Set(['1962-08-24']));
    expect(birthdateForms('1962-08-24', '')).toEqual(new Set(['1962-08-24']));
  });
});

describe('pivotMatches', () => {
  it('matches when the six fields are equal', () => {
    expect(pivotMatches(DECLARED, fc())).toBe(true);
  });

  it('ignores case, accents, hyphens, apostrophes and spaces in names', () => {
    const identity = fc({ given_name: 'MARIE HELENE', family_name: 'D ARC LEFEVRE' });
    expect(pivotMatches({ ...DECLARED, given_name: 'Marie-Hélène', family_name: ' d’Arc-Lefèvre ' }, identity)).toBe(true);
  });

  it('compares genders after normalisation, codes after trimming, the commune code in any case', () => {
    expect(pivotMatches({ ...DECLARED, gender: 'F' }, fc())).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthcountry: ' 99100 ', birthdate: ' 1962-08-24 ' }, fc())).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthplace: '2a004' }, fc({ birthplace: '2A004' }))).toBe(true);
  });

  it.each([
    ['given_name', { given_name: 'Angela Claire' }],
    ['family_name', { family_name: 'Dupont' }],
    ['birthdate', { birthdate: '1962-08-25' }],
    ['gender', { gender: 'male' }],
    ['birthplace', { birthplace: '75108' }],
    ['birthcountry', { birthcountry: '99131' }],
  ] as const)('a single different field refuses the match: %s', (_field, change) => {
    expect(pivotMatches({ ...DECLARED, ...change }, fc())).toBe(false);
  });

  it.each(['given_name', 'family_name', 'birthdate', 'gender', 'birthcountry'] as const)('a missing %s refuses the match', (field) => {
    expect(pivotMatches({ ...DECLARED, [field]: null }, fc())).toBe(false);
    expect(pivotMatches({ ...DECLARED, [field]: '' }, fc())).toBe(false);
  });

  it('a missing birthplace refuses the match for a birth in France', () => {
    expect(pivotMatches({ ...DECLARED, birthplace: null }, fc())).toBe(false);
    expect(pivotMatches({ ...DECLARED, birthplace: '' }, fc())).toBe(false);
  });

  it('born abroad: the birthplace is empty on both sides', () => {
    const abroad = fc({ birthplace: '', birthcountry: '99131' });
    expect(pivotMatches({ ...DECLARED, birthplace: null, birthcountry: '99131' }, abroad)).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthplace: ' ', birthcountry: '99131' }, abroad)).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthplace: '75107', birthcountry: '99131' }, abroad)).toBe(false);
  });

  it('an empty FranceConnect birthplace never matches a birth in France', () => {
    expect(pivotMatches({ ...DECLARED, birthplace: null }, fc({ birthplace: '' }))).toBe(false);
  });

  it('a presumed date matches its padded and its raw form, nothing else', () => {
    const presumed = fc({ birthdate: '1962-01-01' }, '1962-00-00');
    expect(pivotMatches({ ...DECLARED, birthdate: '1962-01-01' }, presumed)).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthdate: '1962-00-00' }, presumed)).toBe(true);
    expect(pivotMatches({ ...DECLARED, birthdate: '1962-02-01' }, presumed)).toBe(false);
    // Without idp_birthdate, the raw form is unknown.
    expect(pivotMatches({ ...DECLARED, birthdate: '1962-00-00' }, fc({ birthdate: '1962-01-01' }))).toBe(false);
  });

  it('names differing only by an inner letter or a missing first name do not match', () => {
    expect(pivotMatches({ ...DECLARED, given_name: 'Angela Claire Louise Marie' }, fc())).toBe(false);
    expect(pivotMatches({ ...DECLARED, family_name: 'DUBOYS' }, fc())).toBe(false);
  });
});

describe('identityFromUserinfo', () => {
  it('refuses an impossible birth date (it would be stored as certified)', () => {
    for (const birthdate of ['1962-13-45', '1962-02-30', '1962-00-00']) {
      expect(identityFromUserinfo({ ...USERINFO, birthdate }, 'eidas1'), birthdate).toBeUndefined();
    }
    expect(identityFromUserinfo({ ...USERINFO, birthdate: '1964-02-29' }, 'eidas1')?.pivot.birthdate).toBe('1964-02-29');
  });

  it('reads the pivot and the uncertified data', () => {
    const id = identityFromUserinfo({ ...USERINFO, idp_birthdate: '1962-08-24' }, 'eidas1');
    expect(id).toEqual({
      sub: SUB,
      pivot: {
        given_name: 'Angela Claire Louise',
        family_name: 'DUBOIS',
        birthdate: '1962-08-24',
        gender: 'female',
        birthplace: '75107',
        birthcountry: '99100',
      },
      email: 'angela@example.fr',
      preferredUsername: 'MARTIN',
      idpBirthdate: '1962-08-24',
      acr: 'eidas1',
    });
  });

  it('trims names', () => {
    expect(identityFromUserinfo({ ...USERINFO, given_name: '  Angela ' }, 'eidas1')?.pivot.given_name).toBe('Angela');
  });

  it('accepts a birth abroad (empty birthplace), Corsican codes and gender unspecified', () => {
    expect(identityFromUserinfo({ ...USERINFO, birthplace: '', birthcountry: '99131' }, 'eidas1')?.pivot.birthplace).toBe('');
    expect(identityFromUserinfo({ ...USERINFO, birthplace: '2B033' }, 'eidas1')?.pivot.birthplace).toBe('2B033');
    expect(identityFromUserinfo({ ...USERINFO, gender: 'unspecified' }, 'eidas1')?.pivot.gender).toBe('unspecified');
  });

  it.each([
    ['sub too short', { sub: 'a1'.repeat(31) + 'v1' }],
    ['sub without version', { sub: 'a1'.repeat(32) }],
    ['sub in upper case', { sub: `${'A1'.repeat(32)}v1` }],
    ['empty given_name', { given_name: '   ' }],
    ['missing family_name', { family_name: undefined }],
    ['given_name too long', { given_name: 'A'.repeat(501) }],
    ['birthdate format', { birthdate: '24/08/1962' }],
    ['birthdate missing', { birthdate: undefined }],
    ['gender', { gender: 'F' }],
    ['birthplace of 4 digits', { birthplace: '7510' }],
    ['birthplace 2C', { birthplace: '2C033' }],
    ['birthplace lower-case Corsica', { birthplace: '2b033' }],
    ['birthcountry', { birthcountry: '991' }],
    ['birthcountry as a number', { birthcountry: 99100 }],
  ])('rejects a malformed userinfo: %s', (_what, change) => {
    expect(identityFromUserinfo({ ...USERINFO, ...change }, 'eidas1')).toBeUndefined();
  });

  it('rejects what is not an object', () => {
    for (const bad of [null, undefined, 'userinfo', 42, [USERINFO]]) expect(identityFromUserinfo(bad, 'eidas1')).toBeUndefined();
  });

  it('a malformed uncertified datum is dropped, not a reason to reject the identity', () => {
    const id = identityFromUserinfo({ ...USERINFO, email: 'not an email', preferred_username: 42, idp_birthdate: '1962' }, 'eidas1');
    expect(id).toBeDefined();
    expect(id!.email).toBeUndefined();
    expect(id!.preferredUsername).toBeUndefined();
    expect(id!.idpBirthdate).toBeUndefined();
    expect(id!.pivot.family_name).toBe('DUBOIS');
  });

  it('empty email and usage name are absent', () => {
    const id = identityFromUserinfo({ ...USERINFO, email: '', preferred_username: '' }, 'eidas1');
    expect(id!.email).toBeUndefined();
    expect(id!.preferredUsername).toBeUndefined();
  });
});

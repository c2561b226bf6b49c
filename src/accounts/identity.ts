// Rules of the identity sheet (fiche d’identité): what each field accepts, its French error
// message, and how it is stored. Formats follow FranceConnect v2 (shared/franceconnect-v2.md):
// birthdate YYYY-MM-DD, gender male/female, birthplace = INSEE commune code (empty when born
// abroad), birthcountry = INSEE country code (99100 = France), phone in E.164. Pure functions.
import type { Account, AccountUpdate } from '../db/schema.js';
import { genderLabel } from '../http/labels.js';
import { COMMUNE_CODE, communeByCode, communeLabel, communesNamed, isFrenchPostalCode, type InseeCommune } from './insee-communes.js';
import { FRANCE_CODE, INSEE_COUNTRIES, countryByCode, countryLabel } from './insee-countries.js';

/** Fields FranceConnect can certify (the identity pivot). */
export const PIVOT_FIELDS = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'] as const;
export type PivotField = (typeof PIVOT_FIELDS)[number];

/** Fields of the identity sheet form, by name of the account column. */
export const IDENTITY_FIELDS = [
  'given_name',
  'family_name',
  'preferred_username',
  'birthdate',
  'gender',
  'birthcountry',
  'birthplace',
  'phone_number',
  'address_street',
  'address_postal_code',
  'address_locality',
  'address_country',
] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

export const FIELD_LABELS: Record<IdentityField, string> = {
  given_name: 'Prénoms',
  family_name: 'Nom de naissance',
  preferred_username: 'Nom d’usage',
  birthdate: 'Date de naissance',
  gender: 'Sexe',
  birthcountry: 'Pays de naissance',
  birthplace: 'Commune de naissance',
  phone_number: 'Numéro de téléphone',
  address_street: 'Numéro et voie',
  address_postal_code: 'Code postal',
  address_locality: 'Ville',
  address_country: 'Pays',
};

export type IdentityForm = Partial<Record<string, string>>;
export type IdentityErrors = Partial<Record<string, string>>;

export interface IdentityResult {
  /** Normalised values of the editable fields (null = cleared). */
  values: Partial<Record<IdentityField, string | null>>;
  errors: IdentityErrors;
  /** When a commune name matches several communes: the ones to choose from. */
  birthplaceChoices?: { code: string; label: string }[];
}

// Letters of any alphabet, with spaces, hyphens, apostrophes and periods (« Jean-Paul », « N’Diaye »).
const NAME = /^\p{L}[\p{L}\p{M} '’.-]*$/u;
const MAX_NAME = 100;

function clean(value: string | undefined): string {
  return (value ?? '').replace(/\s+/g, ' ').trim();
}

function checkName(value: string, label: string, example: string): string | undefined {
  if (value.length > MAX_NAME) return `${label} : ${MAX_NAME} caractères au plus.`;
  if (!NAME.test(value) || /[ '’.-]{2,}/.test(value.replace(/\. /g, '.'))) {
    return `${label} : seuls les lettres, les espaces, les traits d’union et les apostrophes sont acceptés, par exemple « ${example} ».`;
  }
  return undefined;
}

/** « 24 », « 8 », « 1962 » → « 1962-08-24 », or a French message. */
export function parseBirthdate(dayRaw: string, monthRaw: string, yearRaw: string, now: Date): { value: string | null } | { error: string } {
  const [day, month, year] = [dayRaw, monthRaw, yearRaw].map((v) => v.trim());
  if (!day && !month && !year) return { value: null };
  if (!day || !month || !year) return { error: 'Indiquez le jour, le mois et l’année de naissance.' };
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) {
    return { error: 'La date de naissance doit être en chiffres, par exemple 24 08 1962.' };
  }
  const iso = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso) {
    return { error: 'Cette date n’existe pas. Vérifiez le jour et le mois, par exemple 24 08 1962.' };
  }
  if (Number(year) < 1900) return { error: 'L’année de naissance doit être 1900 ou après.' };
  if (iso > now.toISOString().slice(0, 10)) return { error: 'La date de naissance ne peut pas être dans le futur.' };
  return { value: iso };
}

/** French and international numbers → E.164 (+33612345678), or null when not a phone number. */
export function normalisePhone(raw: string): string | null {
  const compact = raw.replace(/[\s.()\-‐]/g, '');
  let m = /^0([1-9]\d{8})$/.exec(compact);
  if (m) return `+33${m[1]}`;
  m = /^(?:\+|00)33\(?0?\)?([1-9]\d{8})$/.exec(compact);
  if (m) return `+33${m[1]}`;
  // A French number must have its 9 digits: +33 with more or fewer is refused, not taken as foreign.
  if (/^(?:\+|00)33/.test(compact)) return null;
  m = /^(?:\+|00)([1-9]\d{6,14})$/.exec(compact);
  if (m) return `+${m[1]}`;
  return null;
}

export function resolveBirthplace(raw: string): { commune: InseeCommune } | { error: string; choices?: { code: string; label: string }[] } {
  const input = raw.trim();
  if (COMMUNE_CODE.test(input.toUpperCase())) {
    const commune = communeByCode(input);
    if (!commune)
      return { error: 'Ce code ne correspond à aucune commune. Attention : le code INSEE de la commune n’est pas son code postal.' };
    return { commune };
  }
  if (/\d/.test(input)) return { error: 'Saisissez le nom de la commune ou son code INSEE à 5 caractères, par exemple 69123 pour Lyon.' };
  const found = communesNamed(input);
  if (found.length === 1) return { commune: found[0]! };
  if (!found.length) return { error: 'Aucune commune ne porte ce nom. Vérifiez l’orthographe ou saisissez le code INSEE de la commune.' };
  return {
    error: 'Plusieurs communes portent ce nom : saisissez le code INSEE de la vôtre (voir la liste sous le champ).',
    choices: found.slice(0, 20).map((c) => ({ code: c.code, label: communeLabel(c) })),
  };
}

/**
 * Validates the submitted identity sheet. Certified fields must not change: a different value
 * is refused with a message (the form does not even offer them).
 */
export function validateIdentity(form: IdentityForm, account: Account, certified: ReadonlySet<string>, now: Date): IdentityResult {
  const values: IdentityResult['values'] = {};
  const errors: IdentityErrors = {};
  let birthplaceChoices: IdentityResult['birthplaceChoices'];
  const editable = (field: PivotField) => !certified.has(field);

  for (const [field, example] of [
    ['given_name', 'Marie Claire'],
    ['family_name', 'Dupont-Martin'],
    ['preferred_username', 'N’Diaye'],
  ] as const) {
    if (field !== 'preferred_username' && !editable(field)) continue;
    const v = clean(form[field]);
    const problem = v ? checkName(v, FIELD_LABELS[field], example) : undefined;
    if (problem) errors[field] = problem;
    else values[field] = v || null;
  }

  if (editable('birthdate')) {
    const parsed = parseBirthdate(form.birthdate_day ?? '', form.birthdate_month ?? '', form.birthdate_year ?? '', now);
    if ('error' in parsed) errors.birthdate = parsed.error;
    else values.birthdate = parsed.value;
  }

  if (editable('gender')) {
    const v = clean(form.gender);
    if (v === '' || v === 'female' || v === 'male') values.gender = v || null;
    else if (v === 'unspecified' && account.gender === 'unspecified') values.gender = v;
    else errors.gender = 'Choisissez une des réponses proposées.';
  }

  const countryEditable = editable('birthcountry');
  const country = countryEditable ? clean(form.birthcountry) : (account.birthcountry ?? '');
  if (countryEditable) {
    if (country && !countryByCode(country)) errors.birthcountry = 'Choisissez le pays de naissance dans la liste.';
    else values.birthcountry = country || null;
  }
  if (editable('birthplace')) {
    const place = clean(form.birthplace);
    if (!place) {
      if (country === FRANCE_CODE)
        errors.birthplace = 'Pour une naissance en France, indiquez la commune de naissance (son nom ou son code INSEE).';
      else values.birthplace = null;
    } else if (country && country !== FRANCE_CODE) {
      errors.birthplace = 'Pour une naissance hors de France, laissez la commune de naissance vide.';
    } else {
      const resolved = resolveBirthplace(place);
      if ('error' in resolved) {
        errors.birthplace = resolved.error;
        birthplaceChoices = resolved.choices;
      } else if (!country) {
        errors.birthcountry = 'Choisissez aussi le pays de naissance (France pour une commune française).';
      } else {
        values.birthplace = resolved.commune.code;
      }
    }
  }

  const phone = clean(form.phone_number);
  if (!phone) values.phone_number = null;
  else {
    const e164 = normalisePhone(phone);
    if (e164) values.phone_number = e164;
    else errors.phone_number = 'Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 ou +33 6 12 34 56 78.';
  }

  const street = clean(form.address_street);
  const postal = clean(form.address_postal_code).toUpperCase();
  const locality = clean(form.address_locality);
  const addressCountryCode = clean(form.address_country) || FRANCE_CODE;
  if (!street && !postal && !locality) {
    Object.assign(values, { address_street: null, address_postal_code: null, address_locality: null, address_country: null });
  } else {
    const addressCountry = countryByCode(addressCountryCode);
    if (!addressCountry || addressCountry.until) errors.address_country = 'Choisissez le pays de l’adresse dans la liste.';
    if (!street) errors.address_street = 'Indiquez le numéro et la voie, par exemple 20 rue du Lac.';
    else if (street.length > 200) errors.address_street = 'Numéro et voie : 200 caractères au plus.';
    if (!postal) errors.address_postal_code = 'Indiquez le code postal, par exemple 69003.';
    else if (addressCountryCode === FRANCE_CODE) {
      if (!/^\d{5}$/.test(postal)) errors.address_postal_code = 'Un code postal français a 5 chiffres, par exemple 69003.';
      else if (!isFrenchPostalCode(postal))
        errors.address_postal_code = 'Ce code postal n’existe pas en France. Vérifiez-le, par exemple 69003.';
    } else if (!/^[A-Z0-9][A-Z0-9 -]{1,11}$/.test(postal))
      errors.address_postal_code = 'Le code postal contient des caractères non acceptés.';
    if (!locality) errors.address_locality = 'Indiquez la ville, par exemple Lyon.';
    else if (locality.length > MAX_NAME) errors.address_locality = `Ville : ${MAX_NAME} caractères au plus.`;
    if (!errors.address_street && !errors.address_postal_code && !errors.address_locality && !errors.address_country) {
      Object.assign(values, {
        address_street: street,
        address_postal_code: postal,
        address_locality: locality,
        address_country: addressCountry!.name,
      });
    }
  }

  // Forged submissions of certified fields: refused, never silently ignored.
  for (const field of certified) {
    const sent =
      field === 'birthdate'
        ? form.birthdate_year !== undefined
          ? parseBirthdate(form.birthdate_day ?? '', form.birthdate_month ?? '', form.birthdate_year, now)
          : undefined
        : form[field] !== undefined
          ? { value: clean(form[field]) }
          : undefined;
    if (!sent) continue;
    const current = (account as unknown as Record<string, string | null>)[field] ?? '';
    const value = 'value' in sent ? (sent.value ?? '') : undefined;
    const same = field === 'birthplace' && value ? value.toUpperCase() === current.toUpperCase() : value === current;
    if (!same)
      errors[field] =
        `${FIELD_LABELS[field as IdentityField] ?? field} : cette donnée est certifiée par FranceConnect et ne peut pas être modifiée ici.`;
  }

  return birthplaceChoices ? { values, errors, birthplaceChoices } : { values, errors };
}

/** Names of the fields whose stored value differs from `values`. */
export function changedFields(account: Account, values: IdentityResult['values']): IdentityField[] {
  const current = account as unknown as Record<string, string | null>;
  return (Object.keys(values) as IdentityField[]).filter((f) => (values[f] ?? null) !== (current[f] ?? null));
}

export function toAccountUpdate(values: IdentityResult['values']): AccountUpdate {
  return { ...values };
}

/** What the sheet shows: each value with its readable form and whether it is certified. */
/** A birthplace as residents read it: the commune's name with its INSEE code (the code alone if unknown). */
export function birthplaceText(code: string): string {
  const commune = code ? communeByCode(code) : undefined;
  return commune ? `${communeLabel(commune)}, code INSEE ${commune.code}` : code;
}

/** A birth country as residents read it: its name with its INSEE code (the code alone if unknown). */
export function birthcountryText(code: string): string {
  const country = code ? countryByCode(code) : undefined;
  return country ? `${countryLabel(country)} (${country.code})` : code;
}

export function identityView(account: Account, certified: ReadonlySet<string>) {
  const [year = '', month = '', day = ''] = (account.birthdate ?? '').split('-');
  const addressCountry = account.address_country ? INSEE_COUNTRIES.find((c) => c.name === account.address_country && !c.until) : undefined;
  return {
    certified: Object.fromEntries(PIVOT_FIELDS.map((f) => [f, certified.has(f)])),
    anyCertified: PIVOT_FIELDS.some((f) => certified.has(f)),
    given_name: account.given_name ?? '',
    family_name: account.family_name ?? '',
    preferred_username: account.preferred_username ?? '',
    birthdate: { day, month, year, text: account.birthdate ? formatDay(account.birthdate) : '' },
    gender: account.gender ?? '',
    genderText: account.gender ? genderLabel(account.gender) : '',
    birthcountry: account.birthcountry ?? '',
    birthcountryText: birthcountryText(account.birthcountry ?? ''),
    birthplace: account.birthplace ?? '',
    birthplaceText: birthplaceText(account.birthplace ?? ''),
    phone_number: account.phone_number ?? '',
    address_street: account.address_street ?? '',
    address_postal_code: account.address_postal_code ?? '',
    address_locality: account.address_locality ?? '',
    address_country: addressCountry?.code ?? FRANCE_CODE,
  };
}

function formatDay(iso: string): string {
  return new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(`${iso}T00:00:00Z`));
}

/** Options of the country lists: France first, then by name (former countries included for birth). */
export function countryOptions(options: { includeFormer: boolean }) {
  const list = INSEE_COUNTRIES.filter((c) => options.includeFormer || !c.until)
    .map((c) => ({ code: c.code, label: countryLabel(c) }))
    .sort((a, b) => (a.code === FRANCE_CODE ? -1 : b.code === FRANCE_CODE ? 1 : a.label.localeCompare(b.label, 'fr')));
  return list;
}

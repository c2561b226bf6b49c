// The identity pivot as GLC reads it from FranceConnect, and the normalisation used to compare
// it with what a resident declared (case, accents, apostrophes, hyphens, spaces, presumed dates).
import { z } from 'zod';

import { PIVOT_FIELDS, type PivotField } from '../accounts/identity.js';

// The six fields are the identity sheet's (accounts/identity.ts): one definition.
export { PIVOT_FIELDS, type PivotField };

/** FranceConnect's own code for France in birthcountry (INSEE). */
export const FRANCE = '99100';

/** What FranceConnect's userinfo must hold for GLC to trust it (FC v2 formats). */
/** 2026-02-29 is not a date; Date.parse would roll it over (or fail) without saying so. */
function isCalendarDate(d: string): boolean {
  const t = Date.parse(`${d}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().startsWith(d);
}

export const fcUserinfoSchema = z.object({
  sub: z.string().regex(/^[0-9a-f]{64}v\d+$/),
  given_name: z.string().trim().min(1).max(500),
  family_name: z.string().trim().min(1).max(500),
  // A real calendar date (presumed dates come padded with -01; their raw form is idp_birthdate).
  birthdate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .refine(isCalendarDate),
  gender: z.enum(['male', 'female', 'unspecified']),
  // INSEE commune code (2A/2B Corsica, 97/98 overseas), empty when born abroad.
  birthplace: z.string().regex(/^(|\d{5}|2[AB]\d{3})$/),
  birthcountry: z.string().regex(/^\d{5}$/),
  email: z.string().trim().max(254).pipe(z.email()).optional().catch(undefined),
  preferred_username: z.string().trim().max(500).optional().catch(undefined),
  idp_birthdate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional()
    .catch(undefined),
});

export interface FcIdentity {
  sub: string;
  /** The six certified fields, as FranceConnect sent them. */
  pivot: Record<PivotField, string>;
  /** Not certified: declared by the resident at their identity provider. */
  email: string | undefined;
  preferredUsername: string | undefined;
  /** Raw birth date with `00` parts when presumed. */
  idpBirthdate: string | undefined;
  acr: string;
}

export function identityFromUserinfo(userinfo: unknown, acr: string): FcIdentity | undefined {
  const parsed = fcUserinfoSchema.safeParse(userinfo);
  if (!parsed.success) return undefined;
  const u = parsed.data;
  return {
    sub: u.sub,
    pivot: {
      given_name: u.given_name,
      family_name: u.family_name,
      birthdate: u.birthdate,
      gender: u.gender,
      birthplace: u.birthplace,
      birthcountry: u.birthcountry,
    },
    email: u.email || undefined,
    preferredUsername: u.preferred_username || undefined,
    idpBirthdate: u.idp_birthdate,
    acr,
  };
}

/** « Marie-Hélène  d’Arc » → « MARIE HELENE D ARC ». */
export function normaliseName(value: string | null | undefined): string {
  return (value ?? '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[’'`´‘\-‐‑–—.,]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toUpperCase();
}

export function normaliseGender(value: string | null | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  if (['male', 'm', 'homme', 'masculin'].includes(v)) return 'male';
  if (['female', 'f', 'femme', 'feminin', 'féminin'].includes(v)) return 'female';
  if (['unspecified', 'non precise', 'non précisé', 'autre'].includes(v)) return 'unspecified';
  return v;
}

/** The birth dates that stand for the same FranceConnect date (a presumed date has two forms). */
export function birthdateForms(birthdate: string, idpBirthdate: string | undefined): Set<string> {
  const forms = new Set([birthdate]);
  if (idpBirthdate) forms.add(idpBirthdate);
  return forms;
}

export interface DeclaredIdentity {
  given_name: string | null;
  family_name: string | null;
  birthdate: string | null;
  gender: string | null;
  birthplace: string | null;
  birthcountry: string | null;
}

/**
 * True only when the account holds all six pivot fields and each equals FranceConnect's after
 * normalisation. Born abroad: the birthplace is empty on both sides (FranceConnect sends "").
 */
export function pivotMatches(declared: DeclaredIdentity, identity: FcIdentity): boolean {
  const p = identity.pivot;
  if (!declared.given_name || !declared.family_name || !declared.birthdate || !declared.gender || !declared.birthcountry) return false;
  if (normaliseName(declared.given_name) !== normaliseName(p.given_name)) return false;
  if (normaliseName(declared.family_name) !== normaliseName(p.family_name)) return false;
  if (!birthdateForms(p.birthdate, identity.idpBirthdate).has(declared.birthdate.trim())) return false;
  if (normaliseGender(declared.gender) !== normaliseGender(p.gender)) return false;
  if (declared.birthcountry.trim() !== p.birthcountry) return false;
  const place = (declared.birthplace ?? '').trim().toUpperCase();
  if (p.birthplace === '') return place === '' && declared.birthcountry.trim() !== FRANCE;
  return place === p.birthplace;
}

// The identity received from GLC, as rows for the page: a French label, a readable value, and
// whether FranceConnect certified it (OpenID Connect for Identity Assurance: `verified_claims`).

export interface IdentityRow {
  claim: string;
  label: string;
  value: string;
  certified: boolean;
}
export interface Identity {
  rows: IdentityRow[];
  certifiedAt: string | null;
}

const LABELS: [claim: string, label: string][] = [
  ['given_name', 'Prénoms'],
  ['family_name', 'Nom de naissance'],
  ['preferred_username', 'Nom d’usage'],
  ['birthdate', 'Date de naissance'],
  ['gender', 'Sexe'],
  ['birthplace', 'Commune de naissance (code INSEE)'],
  ['birthcountry', 'Pays de naissance (code INSEE)'],
  ['email', 'Adresse électronique'],
];

const GENDERS: Record<string, string> = { female: 'féminin', male: 'masculin', unspecified: 'non précisé' };

const frenchDate = (iso: string) => {
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleDateString('fr-FR', {
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        timeZone: iso.length === 10 ? 'UTC' : 'Europe/Paris',
      });
};

function display(claim: string, value: unknown, claims: Record<string, unknown>): string {
  if (claim === 'birthdate' && typeof value === 'string') return frenchDate(value);
  if (claim === 'gender' && typeof value === 'string') return GENDERS[value] ?? value;
  if (claim === 'email') return `${String(value)}${claims.email_verified === true ? ' (vérifiée)' : ''}`;
  return String(value);
}

interface VerifiedClaims {
  verification?: { time?: string };
  claims?: Record<string, unknown>;
}

/** `verified_claims` is one object, or an array of them (both are allowed by the specification). */
function certified(claims: Record<string, unknown>): { values: Record<string, unknown>; time: string | null } {
  const raw = claims.verified_claims;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as VerifiedClaims[];
  const values: Record<string, unknown> = {};
  let time: string | null = null;
  for (const entry of list) {
    Object.assign(values, entry.claims ?? {});
    time = entry.verification?.time ?? time;
  }
  return { values, time };
}

export function identityRows(claims: Record<string, unknown>): Identity {
  const verified = certified(claims);
  const rows: IdentityRow[] = [];
  for (const [claim, label] of LABELS) {
    const value = claims[claim];
    if (value === undefined || value === null || value === '') continue;
    // Marked only when the value shown is the certified one.
    rows.push({
      claim,
      label,
      value: display(claim, value, claims),
      certified: claim in verified.values && verified.values[claim] === value,
    });
  }
  return { rows, certifiedAt: verified.time ? frenchDate(verified.time) : null };
}

export { frenchDate };

// The claims contract (shared/claims.md): which scope releases which claims. One place for it.
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'birthdate', 'gender', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  birth: ['birthplace', 'birthcountry'],
  identite_pivot: ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'],
  identite_certifiee: ['verified_claims'],
} as const satisfies Record<string, readonly string[]>;

/** Scopes without claims. */
export const TECHNICAL_SCOPES = ['offline_access', 'deleted_accounts:read', 'statistics:read'] as const;

export const SUPPORTED_SCOPES = [...Object.keys(SCOPE_CLAIMS), ...TECHNICAL_SCOPES];

/** What a client_credentials token may carry: API scopes, never a resident's data or login. */
export const CLIENT_CREDENTIALS_SCOPES: readonly string[] = ['deleted_accounts:read', 'statistics:read'];

export type ClaimName = (typeof SCOPE_CLAIMS)[keyof typeof SCOPE_CLAIMS][number];

/** The personal data a resident can consent to (sub and updated_at are not personal data to consent to). */
export const CONSENTABLE_CLAIMS = [
  'given_name',
  'family_name',
  'preferred_username',
  'birthdate',
  'gender',
  'email',
  'phone_number',
  'address',
  'birthplace',
  'birthcountry',
  'verified_claims',
] as const;

/** Companion claims released together with the claim they describe. */
export const COMPANION_CLAIMS: Record<string, string> = {
  email_verified: 'email',
  phone_number_verified: 'phone_number',
  updated_at: 'sub',
};

export function claimsOfScopes(scopes: Iterable<string>): Set<string> {
  const result = new Set<string>();
  for (const scope of scopes) {
    const claims = (SCOPE_CLAIMS as Record<string, readonly string[]>)[scope];
    claims?.forEach((c) => result.add(c));
  }
  return result;
}

/** French labels shown to residents on the consent screen and in the account area. */
export const CLAIM_LABELS: Record<string, string> = {
  given_name: 'Prénoms',
  family_name: 'Nom de naissance',
  preferred_username: 'Nom d’usage',
  birthdate: 'Date de naissance',
  gender: 'Sexe',
  email: 'Adresse électronique',
  phone_number: 'Numéro de téléphone',
  address: 'Adresse postale',
  birthplace: 'Lieu de naissance',
  birthcountry: 'Pays de naissance',
  verified_claims: 'Identité certifiée par FranceConnect',
};

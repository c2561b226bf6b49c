// How values are shown to residents, defined once for every page and mail.

/** The sex as the civil status records it (INSEE values of FranceConnect's pivot identity). */
export const GENDER_LABELS: Readonly<Record<string, string>> = { female: 'Féminin', male: 'Masculin', unspecified: 'Non précisé' };

export function genderLabel(value: string): string {
  return GENDER_LABELS[value] ?? value;
}

/**
 * « c•••@exemple.fr »: enough to recognise one’s address, not to read it over a shoulder. The
 * number of dots is fixed, so the length of the address is not told either.
 */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}•••@${domain}`;
}

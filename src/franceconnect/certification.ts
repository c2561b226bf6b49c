// Certified identity as services see it: OpenID Connect for Identity Assurance 1.0
// `verified_claims` (trust framework eIDAS, level from FranceConnect's acr, evidence: the
// electronic record FranceConnect checked against the INSEE register).
import type { Selectable } from 'kysely';
import type { FranceConnectCertifiedFieldTable } from './tables.js';
import { PIVOT_FIELDS } from './normalise.js';

type CertifiedRow = Selectable<FranceConnectCertifiedFieldTable>;

/** eIDAS levels of FranceConnect's acr values. */
const ASSURANCE_LEVEL: Record<string, string> = { eidas1: 'low', eidas2: 'substantial', eidas3: 'high' };

export interface VerifiedClaims {
  verification: {
    trust_framework: 'eidas';
    assurance_level: string;
    time: string;
    evidence: { type: 'electronic_record'; record: { type: 'france_connect'; source: { name: 'FranceConnect' } } }[];
  };
  claims: Record<string, string>;
}

/** ISO 8601 without milliseconds, UTC: « 2026-11-28T09:41:07Z ». */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function verifiedClaimsOf(rows: CertifiedRow[]): VerifiedClaims | undefined {
  const certified = rows.filter((r) => r.source === 'FranceConnect' && (PIVOT_FIELDS as readonly string[]).includes(r.field));
  if (!certified.length) return undefined;
  const latest = certified.reduce((a, b) => (a.certified_at.getTime() >= b.certified_at.getTime() ? a : b));
  return {
    verification: {
      trust_framework: 'eidas',
      assurance_level: ASSURANCE_LEVEL[latest.acr] ?? 'low',
      time: isoSeconds(latest.certified_at),
      evidence: [{ type: 'electronic_record', record: { type: 'france_connect', source: { name: 'FranceConnect' } } }],
    },
    claims: Object.fromEntries(certified.map((r) => [r.field, r.value])),
  };
}

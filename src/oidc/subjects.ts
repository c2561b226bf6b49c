// The `sub` by which a service knows an account: pairwise per sector by default (an HMAC of the
// sector and the account id), or the account id for services registered `public`. One home for
// the rule, used by the provider (pairwiseIdentifier) and by the deletion routine, which must
// compute the same sub from a registration when no login recorded it.
import type { Secrets } from '../secrets.js';

/** A per-client sector: a short name an operator chooses (letters, digits, dot, dash). */
export const SECTOR_PATTERN = /^[a-z0-9][a-z0-9.-]{0,99}$/;

/**
 * The sub as the provider computes it for a client object. Pairwise subjects are per sector: by
 * default the host of the redirect URIs, so two services on one host share them; a service
 * registered with its own sector (`glc client add --sector`, metadata glc_sector) gets subjects of
 * its own. Own sectors are namespaced: never equal to a host's.
 */
export function subjectFor(
  secrets: Pick<Secrets, 'hmac'>,
  client: { subjectType?: string; sectorIdentifier?: string; glc_sector?: string },
  accountId: string,
): string {
  if (client.subjectType !== 'pairwise') return accountId;
  const sector = client.glc_sector ? `sector:${client.glc_sector}` : client.sectorIdentifier;
  return secrets.hmac('pairwise', `${sector}|${accountId}`);
}

/**
 * The sector of a registration, as oidc-provider derives it (helpers/sector_identifier.js): the
 * host of sector_identifier_uri, else the host of the first redirect URI.
 */
export function sectorOf(metadata: Record<string, unknown>): string | undefined {
  const sectorUri = metadata.sector_identifier_uri as string | undefined;
  const redirect = (metadata.redirect_uris as string[] | undefined)?.[0];
  const responseTypes = (metadata.response_types as string[] | undefined) ?? ['code'];
  if (sectorUri) return new URL(sectorUri).host;
  return responseTypes.length && redirect ? new URL(redirect).host : undefined;
}

/** The sub of an account for a registered client, from its stored metadata. */
export function subjectOfRegistration(
  secrets: Pick<Secrets, 'hmac'>,
  metadata: Record<string, unknown>,
  accountId: string,
): string | undefined {
  const subjectType = (metadata.subject_type as string | undefined) ?? 'pairwise';
  if (subjectType !== 'pairwise') return subjectFor(secrets, { subjectType }, accountId);
  const sector = sectorOf(metadata);
  const glcSector = metadata.glc_sector as string | undefined;
  return sector || glcSector ? subjectFor(secrets, { subjectType, sectorIdentifier: sector, glc_sector: glcSector }, accountId) : undefined;
}

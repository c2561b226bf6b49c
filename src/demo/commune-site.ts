// The example commune site (examples/commune-site) is registered by GLC's `npm start` outside
// production, so that `npm start` there works against a running GLC with no other step. The
// secret is random per data folder and written only to DATA_DIR/commune-site.json (mode 600),
// which the example reads; nothing is fixed in the code and nothing of this runs in production.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectPath } from '../paths.js';
import type { Services } from '../services.js';

export const COMMUNE_SITE_URL = 'http://localhost:3001';
export const COMMUNE_SITE_FILE = 'commune-site.json';

export interface CommuneSiteCredentials {
  issuer: string;
  siteUrl: string;
  clientId: string;
  clientSecret: string;
}

export function communeSiteRegistration(siteUrl: string) {
  return {
    name: 'Site de la commune de Valfleuri (exemple)',
    organisation: 'Commune de Valfleuri',
    redirectUris: [`${siteUrl}/connexion/retour`],
    postLogoutRedirectUris: [`${siteUrl}/deconnexion/fin`],
    backchannelLogoutUri: `${siteUrl}/deconnexion/back-channel`,
    grantTypes: ['authorization_code', 'client_credentials'] as ('authorization_code' | 'client_credentials')[],
    scope: 'openid profile email birth identite_certifiee deleted_accounts:read',
    claimsRequired: ['given_name', 'family_name', 'email'],
    claimsOptional: ['birthdate', 'gender', 'preferred_username', 'birthplace', 'birthcountry', 'verified_claims'],
    purpose: 'Vous reconnaître sur le site de la commune et préremplir vos démarches.',
  };
}

/** Registers the example once per data folder (again if its address changed) and writes its credentials there. */
export async function ensureCommuneSiteClient(s: Services, siteUrl = COMMUNE_SITE_URL): Promise<CommuneSiteCredentials> {
  if (s.config.production) throw new Error('the example commune site is never registered in production');
  const file = path.resolve(s.config.dataDir, COMMUNE_SITE_FILE);
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as CommuneSiteCredentials;
    if (saved.siteUrl === siteUrl && saved.issuer === s.config.issuer && (await s.clientStore.find(saved.clientId))) return saved;
  }
  const logoFile = projectPath('examples', 'commune-site', 'public', 'logo-valfleuri.png');
  const logo = existsSync(logoFile) ? { data: readFileSync(logoFile), type: 'image/png' } : undefined;
  const { clientId, clientSecret } = await s.clients.add({ ...communeSiteRegistration(siteUrl), ...(logo && { logo }) });
  const credentials = { issuer: s.config.issuer, siteUrl, clientId, clientSecret: clientSecret! };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

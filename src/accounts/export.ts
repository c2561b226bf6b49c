// « Télécharger mes données » (right of access, GDPR art. 15 and 20): one JSON document with
// everything GLC holds about the resident. Its format is documented in docs/fiche-identite.md.
// Secrets (password hash, tokens, link hashes) are never part of it: only that they exist.
import { listGrants, listSessions } from '../oidc/sessions.js';
import type { Services } from '../services.js';
import { accountClaims } from '../oidc/account-claims.js';
import { communeByCode, communeLabel } from './insee-communes.js';
import { countryByCode, countryLabel } from './insee-countries.js';
import { certifiedFields } from './self-service.js';

export const EXPORT_FORMAT = 'glc-donnees-usager/1';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const fromSeconds = (n: number | undefined) => (typeof n === 'number' ? new Date(n * 1000).toISOString() : null);

export async function exportAccountData(s: Services, accountId: string, now: Date): Promise<Record<string, unknown> | undefined> {
  const account = await s.accountStore.findById(accountId);
  if (!account) return undefined;
  const certified = await certifiedFields(s, accountId);
  const [events, sessions, grants] = await Promise.all([
    s.accountStore.listEvents(accountId, 10_000),
    listSessions(s.db, accountId),
    listGrants(s.db, accountId),
  ]);
  const clientNames = new Map<string, string>();
  for (const g of grants) {
    const id = g.payload.clientId;
    if (id && !clientNames.has(id)) clientNames.set(id, (await s.clientStore.find(id))?.name ?? id);
  }
  const birthplace = account.birthplace ? communeByCode(account.birthplace) : undefined;
  const birthcountry = account.birthcountry ? countryByCode(account.birthcountry) : undefined;

  return {
    format: EXPORT_FORMAT,
    documentation: `${s.config.issuer}/docs/fiche-identite`,
    generated_at: now.toISOString(),
    issuer: s.config.issuer,
    account: {
      id: account.id,
      created_at: iso(account.created_at),
      updated_at: iso(account.updated_at),
      last_activity_at: iso(account.last_activity_at),
      email: account.email,
      email_verified_at: iso(account.email_verified_at),
      has_password: account.password_hash !== null,
      password_changed_at: iso(account.password_changed_at),
    },
    identity: {
      given_name: account.given_name,
      family_name: account.family_name,
      preferred_username: account.preferred_username,
      birthdate: account.birthdate,
      gender: account.gender,
      birthplace: account.birthplace,
      birthplace_name: birthplace ? communeLabel(birthplace) : null,
      birthcountry: account.birthcountry,
      birthcountry_name: birthcountry ? countryLabel(birthcountry) : null,
      phone_number: account.phone_number,
      address:
        account.address_street || account.address_locality
          ? {
              street_address: account.address_street,
              postal_code: account.address_postal_code,
              locality: account.address_locality,
              country: account.address_country,
            }
          : null,
      certified_by_franceconnect: [...certified].sort(),
    },
    claims_released_to_services: accountClaims(account, '(identifiant propre à chaque service)'),
    franceconnect: await s.franceConnect.exportFor(accountId),
    consents: await s.consent.exportFor(accountId),
    services: grants.map((g) => {
      const p = g.payload;
      return {
        client_id: p.clientId ?? null,
        name: p.clientId ? (clientNames.get(p.clientId) ?? null) : null,
        scope: p.openid?.scope ?? null,
        claims: p.openid?.claims ?? [],
        granted_at: fromSeconds(p.iat),
        expires_at: fromSeconds(p.exp),
      };
    }),
    sessions: sessions.map((x) => {
      const p = x.payload;
      return {
        opened_at: fromSeconds(p.loginTs),
        methods: p.amr ?? [],
        services: Object.keys(p.authorizations ?? {}),
        expires_at: iso(x.expiresAt),
      };
    }),
    activity: events.map((e) => ({ type: e.type, at: iso(e.created_at), detail: e.detail })),
  };
}

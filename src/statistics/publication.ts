// What is published, built from the daily counters: for each indicator, a table of services ×
// periods (the last 30 days; the last 12 months), with small-count suppression applied once, on
// the whole table, so that the console, a commune's API and the open-data file all show the same
// pattern of « < n » and none can be combined with another to recover a hidden figure.
import { suppressTable, type Cell, type PublishedTable } from './suppression.js';
import type { DailyRow } from './store.js';

export interface Indicator {
  kind: string;
  detail: string;
  label: string;
}

/** The indicators, in the order shown (French labels: the console, the API and the CSV use them). */
export const INDICATORS: readonly Indicator[] = [
  { kind: 'login', detail: 'password', label: 'Connexions par mot de passe' },
  { kind: 'login', detail: 'franceconnect', label: 'Connexions avec FranceConnect' },
  { kind: 'login_failed', detail: 'invalid', label: 'Échecs de connexion : identifiants incorrects' },
  { kind: 'login_failed', detail: 'blocked', label: 'Échecs de connexion : trop de tentatives' },
  { kind: 'login_failed', detail: 'unverified', label: 'Échecs de connexion : adresse non confirmée' },
  { kind: 'signup', detail: 'started', label: 'Inscriptions commencées' },
  { kind: 'signup', detail: 'confirmed', label: 'Inscriptions confirmées' },
  { kind: 'signup', detail: 'franceconnect', label: 'Comptes créés avec FranceConnect' },
  { kind: 'franceconnect_link', detail: 'automatic', label: 'Associations FranceConnect automatiques' },
  { kind: 'franceconnect_link', detail: 'manual', label: 'Associations FranceConnect par mot de passe' },
  { kind: 'franceconnect_link', detail: 'account_area', label: 'Associations FranceConnect depuis l’espace personnel' },
  { kind: 'franceconnect_certification', detail: '', label: 'Identités certifiées par FranceConnect' },
  { kind: 'consent', detail: 'shown', label: 'Écrans de consentement affichés' },
  { kind: 'consent', detail: 'accepted', label: 'Consentements acceptés' },
  { kind: 'consent', detail: 'refused', label: 'Consentements refusés' },
  { kind: 'deletion', detail: 'self', label: 'Comptes supprimés par l’habitant' },
  { kind: 'deletion', detail: 'inactivity', label: 'Comptes supprimés pour inactivité' },
  { kind: 'deletion', detail: 'staff', label: 'Comptes supprimés par le personnel' },
  { kind: 'inactivity_warning', detail: '', label: 'Avertissements d’inactivité envoyés' },
  { kind: 'api_poll', detail: 'deleted_accounts', label: 'Appels de l’API des comptes supprimés' },
  { kind: 'api_poll', detail: 'security_events', label: 'Appels de l’API des événements de sécurité' },
];

export interface PublishedIndicator {
  key: string;
  label: string;
  /** Rows: `services`; one column. */
  last30: PublishedTable;
  /** Rows: `services`; columns: `months`. */
  months: PublishedTable;
}

export interface Publication {
  minCount: number;
  /** null: GLC itself (events with no service, e.g. an email confirmation). */
  services: { clientId: string | null; name: string }[];
  months: string[];
  last30From: string;
  to: string;
  indicators: PublishedIndicator[];
}

export const indicatorKey = (i: { kind: string; detail: string }) => (i.detail ? `${i.kind}.${i.detail}` : i.kind);

const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** The 12 months ending with the month of `to` ('YYYY-MM'), oldest first. */
export function lastMonths(to: string, n = 12): string[] {
  const [y, m] = to.split('-').map(Number) as [number, number];
  return Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(y, m - 1 - (n - 1 - i), 1));
    return d.toISOString().slice(0, 7);
  });
}

/** The first day to read for a publication ending on `to`. */
export const publicationStart = (to: string) => `${lastMonths(to)[0]}-01`;

export function buildPublication(rows: readonly DailyRow[], to: string, names: ReadonlyMap<string, string>, minCount: number): Publication {
  const months = lastMonths(to);
  const last30From = addDays(to, -29);
  const ids = [...new Set(rows.map((r) => r.client_id))].sort((a, b) => (a ?? '').localeCompare(b ?? ''));
  const services = ids.map((clientId) => ({
    clientId,
    name: clientId === null ? 'GrandLyon Connect (sans service)' : (names.get(clientId) ?? clientId),
  }));
  const indicators = INDICATORS.map((ind) => {
    const mine = rows.filter((r) => r.kind === ind.kind && r.detail === ind.detail);
    const sum = (clientId: string | null, pick: (r: DailyRow) => boolean) =>
      mine.filter((r) => r.client_id === clientId && pick(r)).reduce((a, r) => a + r.count, 0);
    const last30 = suppressTable(
      ids.map((id) => [sum(id, (r) => r.day >= last30From && r.day <= to)]),
      minCount,
    );
    const monthly = suppressTable(
      ids.map((id) => months.map((m) => sum(id, (r) => r.day.startsWith(m)))),
      minCount,
    );
    return { key: indicatorKey(ind), label: ind.label, last30, months: monthly };
  });
  return { minCount, services, months, last30From, to, indicators };
}

/** A published figure: a number, or null when suppressed (shown « < n »). */
export const figure = (c: Cell): number | null => (c.suppressed ? null : c.value);

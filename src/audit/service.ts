// The staff audit journal: every staff read of an account and every staff action, chained,
// verifiable, shown to the resident concerned, kept `config.auditRetentionDays`.
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { createAuditStore, type AuditFilter, type NewAuditEntry } from './store.js';
import { createAuditVerifier } from './journal.js';

export interface AuditDeps {
  db: Db;
  config: Pick<Config, 'auditRetentionDays'>;
}

/** What the resident reads on /compte/securite, one phrase per action. */
export const AUDIT_ACTIONS: Record<string, string> = {
  account_viewed: 'a consulté votre compte',
  verification_mail_sent: 'vous a renvoyé le courriel de confirmation de votre adresse',
  reset_mail_sent: 'vous a envoyé un courriel de réinitialisation du mot de passe',
  throttle_lifted: 'a levé le blocage temporaire des connexions à votre compte',
  sessions_ended: 'a fermé toutes les sessions ouvertes de votre compte',
  account_deleted: 'a supprimé votre compte à votre demande',
  franceconnect_relinked: 'a relié votre compte à votre nouvelle identité FranceConnect',
  ticket_updated: 'a traité une demande d’assistance',
  account_exported: 'a exporté les données de votre compte',
  role_granted: 'a attribué un rôle',
  role_revoked: 'a retiré un rôle',
  audit_exported: 'a exporté le journal des interventions',
  keys_rotated: 'a renouvelé les clés de signature',
  keys_retired: 'a retiré les anciennes clés de signature',
  service_created: 'a enregistré un service',
  service_updated: 'a modifié un service',
  service_secret_rotated: 'a renouvelé le secret d’un service',
  service_enabled: 'a réactivé un service',
  service_disabled: 'a désactivé un service',
};

const ROLE_NAMES: Record<string, string> = {
  assistance: 'L’assistance de GrandLyon Connect',
  dpo: 'Le délégué à la protection des données de la Métropole',
  admin: 'L’exploitation de GrandLyon Connect',
};

export function createAuditService(deps: AuditDeps) {
  const store = createAuditStore(deps.db);
  return {
    store,
    record(entry: Omit<NewAuditEntry, 'detail' | 'at'> & { detail?: Record<string, unknown> }, now: Date): Promise<number> {
      return store.append({ ...entry, detail: entry.detail ?? {}, at: now });
    },

    /** The entries about one resident, in French, newest first (never the staff member's name). */
    async forResident(accountId: string, limit = 50) {
      const rows = await store.forAccount(accountId, limit);
      return rows.map((r) => ({
        at: r.at,
        text: `${ROLE_NAMES[r.role] ?? 'GrandLyon Connect'} ${AUDIT_ACTIONS[r.action] ?? `a effectué une opération (${r.action})`}`,
        reason: r.reason,
      }));
    },

    list(filter: AuditFilter, limit = 100, offset = 0) {
      return store.list(filter, limit, offset);
    },

    async verify() {
      const verifier = createAuditVerifier();
      for await (const row of store.all()) verifier.add(row);
      return verifier.result();
    },

    purge(now: Date): Promise<number> {
      return store.purgeBefore(new Date(now.getTime() - deps.config.auditRetentionDays * 86_400_000));
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;

/** CSV (RFC 4180, « ; » as Excel in French expects), formulas neutralised. */
export function toCsv(rows: readonly (readonly (string | number | null)[])[]): string {
  const cell = (v: string | number | null) => {
    let t = v === null ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(t)) t = `'${t}`;
    return /[";\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return rows.map((r) => r.map(cell).join(';')).join('\r\n') + '\r\n';
}

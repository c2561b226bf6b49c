// The ordered list of migrations. A landed migration is never edited: add a new file.
import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';

export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_franceconnect': await import('./0002_franceconnect.js'),
  '0003_consent': await import('./0003_consent.js'),
  '0005_deletion': await import('./0005_deletion.js'),
  '0006_franceconnect_safety': await import('./0006_franceconnect_safety.js'),
  '0007_franceconnect_recovery_unmatched': await import('./0007_franceconnect_recovery_unmatched.js'),
  '0008_security_events': await import('./0008_security_events.js'),
  '0009_hardening': await import('./0009_hardening.js'),
  '0010_claims_in_id_token': await import('./0010_claims_in_id_token.js'),
  '0011_clients_changed': await import('./0011_clients_changed.js'),
  '0013_staff_audit': await import('./0013_staff_audit.js'),
  '0014_help_tickets': await import('./0014_help_tickets.js'),
  '0015_statistics': await import('./0015_statistics.js'),
};

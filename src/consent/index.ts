import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';

// Consent domain (issue: per-service consent). Not built yet: the minimal consent page of
// interactions/routes.ts applies.
export async function registerConsent(_s: Services): Promise<DomainParts> {
  return {};
}

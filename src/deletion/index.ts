import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';

// Deletion domain (account deletion routine, deleted-accounts API, inactivity purge). Not built yet.
export async function registerDeletion(_s: Services): Promise<DomainParts> {
  return {};
}

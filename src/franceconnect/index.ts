import type { DomainParts } from '../domains.js';
import type { Services } from '../services.js';

// FranceConnect domain (federation, certification, local mock). Not built yet.
export async function registerFranceConnect(_s: Services): Promise<DomainParts> {
  return {};
}

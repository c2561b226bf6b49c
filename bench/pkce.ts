// PKCE and random values for the load generator (RFC 7636 S256).
import { createHash, randomBytes } from 'node:crypto';

export const randomUrlSafe = (): string => randomBytes(32).toString('base64url');
export const codeChallenge = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

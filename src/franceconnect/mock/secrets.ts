import { randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: codes, tokens, ids and CSRF tokens alike. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

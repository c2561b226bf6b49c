// Signatures of GLC's cookies (`name.sig`), for Koa and the provider alike (both use the `cookies`
// package, which takes any object shaped like Keygrip). Same signatures as Keygrip's defaults —
// HMAC-SHA1 in base64url without padding — so cookies set before stay valid. Keygrip checks a
// signature by comparing HMACs of both values under a fresh random key (tsscmp): three HMACs and a
// read of the system's random source per cookie read (10.7 µs measured alone). Here: one HMAC,
// compared in constant time by crypto.timingSafeEqual (2.2 µs); a signature of another length is
// refused at once, which reveals only that fixed length.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CookieSigner {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  /** The index of the key that made `digest`, -1 if none did (the cookies package re-signs with the first key otherwise). */
  index(data: string, digest: string): number;
}

export function cookieSigner(keys: readonly string[]): CookieSigner {
  if (keys.length === 0) throw new Error('cookie signing needs at least one key');
  const signWith = (key: string, data: string) => createHmac('sha1', key).update(data).digest('base64url');
  return {
    sign: (data) => signWith(keys[0]!, data),
    verify(data, digest) {
      return this.index(data, digest) > -1;
    },
    index(data, digest) {
      if (typeof digest !== 'string') return -1;
      const given = Buffer.from(digest);
      for (let i = 0; i < keys.length; i++) {
        const expected = Buffer.from(signWith(keys[i]!, data));
        if (expected.length === given.length && timingSafeEqual(expected, given)) return i;
      }
      return -1;
    },
  };
}

// Cookie signatures (http/cookie-signing.ts): the same as Keygrip's, which signed GLC's cookies
// before (so they stay valid across the upgrade), checked with every key, tampering refused.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cookieSigner } from '../../src/http/cookie-signing.js';

// Keygrip 1.1's defaults, as it computes them: HMAC-SHA1, base64, then / + = made URL-safe.
const keygripSignature = (key: string, data: string) =>
  createHmac('sha1', key)
    .update(data)
    .digest('base64')
    .replace(/\/|\+|=/g, (x) => ({ '/': '_', '+': '-', '=': '' })[x]!);

describe('cookie signatures', () => {
  const data = 'glc.session=Zq3v9Xh2kLmN0pQrStUvWxYz_-AbCdEf';

  it('are the ones Keygrip made, with the first key', () => {
    for (const value of [data, 'a', 'glc.interaction=é', '']) {
      expect(cookieSigner(['clé-1', 'clé-0']).sign(value)).toBe(keygripSignature('clé-1', value));
    }
  });

  it('are recognised with any key, by its index; refused when changed, shortened or of another type', () => {
    const signer = cookieSigner(['nouvelle', 'ancienne']);
    expect(signer.index(data, keygripSignature('nouvelle', data))).toBe(0);
    expect(signer.index(data, keygripSignature('ancienne', data))).toBe(1);
    expect(signer.verify(data, keygripSignature('ancienne', data))).toBe(true);
    const good = keygripSignature('nouvelle', data);
    const flipped = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [keygripSignature('étrangère', data), flipped, good.slice(1), `${good}A`, '', undefined as unknown as string]) {
      expect(signer.index(data, bad)).toBe(-1);
      expect(signer.verify(data, bad)).toBe(false);
    }
    expect(signer.index(`${data}x`, good)).toBe(-1);
    expect(() => cookieSigner([])).toThrow();
  });
});

// hasControlCharacters (http/input.ts) walks a request's query and the provider's lookups without
// copying them; it must find a control character wherever it hides: a value, a key, an array,
// an object inside an array, down to the depth limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControlCharacters } from '../../src/http/input.js';

// The definition, written the plain way: every string anywhere in the structure, keys included.
function strings(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (depth > 20 || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, depth + 1));
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [k, ...strings(v, depth + 1)]);
}
// eslint-disable-next-line no-control-regex -- the characters refused, tab, line feed and carriage return aside
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

describe('control characters in nested input', () => {
  it('are found exactly where a string (value or key) holds one', () => {
    const text = fc.string({
      unit: fc.oneof(fc.constantFrom('\u0000', '\u001b', '\u007f', '\t', '\n', 'é'), fc.string({ minLength: 1, maxLength: 1 })),
      maxLength: 6,
    });
    fc.assert(
      fc.property(fc.anything({ key: text, values: [text, fc.integer(), fc.boolean(), fc.constant(null)], maxDepth: 4 }), (input) => {
        expect(hasControlCharacters(input)).toBe(strings(input).some((s) => CONTROL.test(s)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('look in a query as Koa parses it (no prototype), in keys and in repeated values', () => {
    const query = Object.assign(Object.create(null) as Record<string, unknown>, { scope: 'openid', state: ['a', 'b\u0000'] });
    expect(hasControlCharacters(query)).toBe(true);
    expect(hasControlCharacters(Object.assign(Object.create(null) as Record<string, unknown>, { 'k\u0007': 'v' }))).toBe(true);
    expect(hasControlCharacters({ a: [{ b: 'ligne 1\nligne 2\ttab' }] })).toBe(false);
  });
});

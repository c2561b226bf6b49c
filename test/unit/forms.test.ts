// readForm: the one way route handlers read a form.
import { describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import { z } from 'zod';
import { list, optionalText, readForm, text } from '../../src/http/forms.js';
import { HttpError } from '../../src/http/errors.js';

const ctxWith = (body: unknown) => ({ request: { body } }) as unknown as Context;
const login = z.object({ email: text, password: text });

describe('readForm', () => {
  it('gives every declared field as a string, absent ones as empty', () => {
    expect(readForm(ctxWith({ email: 'a@b.fr' }), login)).toEqual({ email: 'a@b.fr', password: '' });
    expect(readForm(ctxWith(undefined), login)).toEqual({ email: '', password: '' });
  });

  it('keeps the first value of a field sent twice, and lists for repeatable fields', () => {
    expect(readForm(ctxWith({ email: ['first@b.fr', 'second@b.fr'] }), login).email).toBe('first@b.fr');
    const consent = z.object({ optional: list });
    expect(readForm(ctxWith({}), consent).optional).toEqual([]);
    expect(readForm(ctxWith({ optional: 'email' }), consent).optional).toEqual(['email']);
    expect(readForm(ctxWith({ optional: ['email', 'phone_number'] }), consent).optional).toEqual(['email', 'phone_number']);
  });

  it('refuses a nested object or a number where text is expected with a 400, never a cast', () => {
    for (const body of [{ email: { $ne: '' } }, { email: 42 }, { optional: [{}] }]) {
      const schema = 'optional' in body ? z.object({ optional: list }) : login;
      let caught: unknown;
      try {
        readForm(ctxWith(body), schema);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(HttpError);
      expect(caught).toMatchObject({ status: 400, expose: true, code: 'invalid_request' });
    }
  });

  it('tells an absent field from an empty one where that matters (identity sheet)', () => {
    const sheet = readForm(ctxWith({ given_name: '', family_name: 'Dubois' }), z.record(z.string(), optionalText));
    expect(sheet).toEqual({ given_name: '', family_name: 'Dubois' });
    expect('phone_number' in sheet).toBe(false);
  });
});

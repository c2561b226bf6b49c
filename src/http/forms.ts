// Form input read through one schema per form: every field arrives as a string (or a list, for
// repeated checkboxes), absent fields as their default, anything else is a 400 — no cast of
// ctx.request.body anywhere else.
import type { Context } from 'koa';
import { z } from 'zod';
import { HttpError } from './errors.js';

/** A text field: absent → '' (the rules decide whether empty is allowed). A field sent twice keeps the first value. */
export const text = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().default(''));
/** A field whose absence means something (the identity sheet: absent = not on the form). */
export const optionalText = z.preprocess((v) => (Array.isArray(v) ? v[0] : v), z.string().optional());
/** A repeatable field (checkboxes of the same name): always a list. */
export const list = z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string()));

export function readForm<S extends z.ZodType>(ctx: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(ctx.request.body ?? {});
  if (!parsed.success) throw new HttpError(400, 'the form could not be read', { code: 'invalid_request' });
  return parsed.data;
}

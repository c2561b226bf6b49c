import { readFileSync } from 'node:fs';
import { z } from 'zod';

const pivotSchema = z.strictObject({
  login: z.string().min(1),
  given_name: z.string().min(1),
  family_name: z.string().min(1),
  preferred_username: z.string().optional(),
  birthdate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  // Presumed dates keep their "00" parts here, as FranceConnect's idp_birthdate does.
  idp_birthdate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  gender: z.enum(['male', 'female', 'unspecified']),
  // INSEE commune code (Corsica 2A/2B included), or empty when born abroad.
  birthplace: z.string().regex(/^(|\d{5}|2[AB]\d{3})$/),
  birthcountry: z.string().regex(/^\d{5}$/),
  email: z.email().optional(),
});

const errorSchema = z.strictObject({
  login: z.string().min(1),
  error: z.string().regex(/^[a-z_]+$/),
  about: z.string().optional(),
});

const fixtureSchema = z.object({
  password: z.string().min(1),
  identities: z.array(pivotSchema).min(1),
  errors: z.array(errorSchema).default([]),
});

/** A test person: the FranceConnect v2 identity pivot plus the non-certified extras. */
export type FcPivotIdentity = z.infer<typeof pivotSchema> & { password: string };

/** A login that makes the mock answer the service with an OAuth error instead of an identity. */
export type FcErrorIdentity = z.infer<typeof errorSchema> & { password: string };

export type FcIdentity = FcPivotIdentity | FcErrorIdentity;

export function isErrorIdentity(identity: FcIdentity): identity is FcErrorIdentity {
  return 'error' in identity;
}

/**
 * Reads the test identities file (see shared/fixtures/franceconnect-identities.json).
 * Every identity gets the file's common password; error scenarios come last.
 */
export function loadFixtureIdentities(path: string): FcIdentity[] {
  const fixture = fixtureSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  return [
    ...fixture.identities.map((identity) => ({ ...identity, password: fixture.password })),
    ...fixture.errors.map((identity) => ({ ...identity, password: fixture.password })),
  ];
}

// Pure consent rules (src/consent/service.ts): what a request asks, what the consent page shows,
// what the oidc-provider grant carries and what leaves GLC. No database, no HTTP.
import { describe, expect, it } from 'vitest';
import { analyseRequest, applyToGrant, filterReleasedClaims, planConsent, type ConsentRequest } from '../../src/consent/service.js';
import type { Consent } from '../../src/consent/store.js';
import type { Client } from '../../src/db/schema.js';
import type { Claims } from '../../src/oidc/account-claims.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const DAY = 24 * 3600_000;

function client(overrides: Partial<Client> = {}): Client {
  return {
    client_id: 'mediatheque',
    name: 'Médiathèque',
    organisation: 'Ville de Villeurbanne',
    metadata: {},
    secret_encrypted: null,
    enabled: true,
    claims_in_id_token: false,
    logo: null,
    logo_type: null,
    claims_required: ['given_name', 'family_name'],
    claims_optional: ['email', 'phone_number'],
    purpose: 'Gérer vos emprunts',
    request_version: 3,
    created_at: new Date('2026-01-01T00:00:00Z'),
    updated_at: new Date('2026-01-01T00:00:00Z'),
    ...overrides,
  };
}

function consent(overrides: Partial<Consent> = {}): Consent {
  return {
    account_id: 'acc-1',
    client_id: 'mediatheque',
    status: 'active',
    claims: ['given_name', 'family_name'],
    declined: [],
    scopes: ['openid', 'profile'],
    request_version: 3,
    purpose: 'Gérer vos emprunts',
    method: 'web_form',
    granted_at: new Date(NOW.getTime() - 10 * DAY),
    updated_at: new Date(NOW.getTime() - 10 * DAY),
    expires_at: new Date(NOW.getTime() + 100 * DAY),
    last_used_at: null,
    ended_at: null,
    grant_id: 'grant-1',
    ...overrides,
  };
}

const request = (data: string[], scopes: string[] = ['openid', 'profile', 'email', 'phone']): ConsentRequest => ({ scopes, data });

describe('analyseRequest', () => {
  const c = client();

  it('keeps only the registered data of the requested scopes, in the canonical order', () => {
    // email before profile in the request: data still comes given_name, family_name, email.
    const r = analyseRequest(c, 'openid email profile', undefined);
    expect(r.scopes).toEqual(['openid', 'email', 'profile']);
    expect(r.data).toEqual(['given_name', 'family_name', 'email']);
  });

  it('does not ask for data of scopes that were not requested', () => {
    expect(analyseRequest(c, 'openid profile', undefined).data).toEqual(['given_name', 'family_name']);
    expect(analyseRequest(c, 'openid', undefined).data).toEqual([]);
  });

  it('deduplicates scopes and ignores repeated spaces', () => {
    const r = analyseRequest(c, '  openid  phone phone   ', undefined);
    expect(r.scopes).toEqual(['openid', 'phone']);
    expect(r.data).toEqual(['phone_number']);
  });

  it('maps companion claims of the claims parameter to the datum they describe', () => {
    const claims = JSON.stringify({ userinfo: { phone_number_verified: null }, id_token: { email_verified: { essential: true } } });
    expect(analyseRequest(c, 'openid', claims).data).toEqual(['email', 'phone_number']);
  });

  it('reads both the userinfo and the id_token members of the claims parameter', () => {
    expect(analyseRequest(c, 'openid', JSON.stringify({ id_token: { family_name: null } })).data).toEqual(['family_name']);
    expect(analyseRequest(c, 'openid', JSON.stringify({ userinfo: { given_name: null } })).data).toEqual(['given_name']);
  });

  it('drops data the service did not register, whether asked by scope or by claims parameter', () => {
    const claims = JSON.stringify({ userinfo: { birthdate: null, address: null, verified_claims: null } });
    const r = analyseRequest(c, 'openid birth address', claims);
    expect(r.data).toEqual([]);
  });

  it('never counts sub or updated_at as data to consent to', () => {
    const all = client({ claims_required: ['given_name'], claims_optional: [] });
    const claims = JSON.stringify({ userinfo: { sub: null, updated_at: null } });
    expect(analyseRequest(all, 'openid profile', claims).data).toEqual(['given_name']);
  });

  it('name is not a datum of its own: asking for it asks for nothing more', () => {
    const r = analyseRequest(c, 'openid', JSON.stringify({ userinfo: { name: null }, id_token: { name: { essential: true } } }));
    expect(r.data).toEqual([]);
  });

  it('expands identite_pivot and identite_certifiee to their data', () => {
    const fc = client({
      claims_required: ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'],
      claims_optional: ['verified_claims'],
    });
    expect(analyseRequest(fc, 'openid identite_pivot identite_certifiee', undefined).data).toEqual([
      'given_name',
      'family_name',
      'birthdate',
      'gender',
      'birthplace',
      'birthcountry',
      'verified_claims',
    ]);
  });

  it('never throws on malformed input', () => {
    for (const bad of ['{not json', 'null', '42', '"text"', '[]', JSON.stringify({ userinfo: 'email' })]) {
      expect(analyseRequest(c, 'openid profile', bad).data).toEqual(['given_name', 'family_name']);
    }
    expect(analyseRequest(c, ['openid', 'email'], { userinfo: { email: null } })).toEqual({ scopes: [], data: [] });
    expect(analyseRequest(c, undefined, undefined)).toEqual({ scopes: [], data: [] });
  });
});

describe('planConsent', () => {
  const c = client();

  it('first connection: every requested datum is new, split into required and optional', () => {
    const plan = planConsent(c, request(['given_name', 'family_name', 'email', 'phone_number']), undefined, NOW);
    expect(plan).toEqual({
      kind: 'first',
      newRequired: ['given_name', 'family_name'],
      newOptional: ['email', 'phone_number'],
      alreadyConsented: [],
    });
  });

  it('nothing new when every requested datum was consented or declined', () => {
    const plan = planConsent(
      c,
      request(['given_name', 'family_name', 'email', 'phone_number']),
      consent({ claims: ['given_name', 'family_name', 'email'], declined: ['phone_number'] }),
      NOW,
    );
    expect(plan.kind).toBe('nothing_new');
    expect(plan.newRequired).toEqual([]);
    expect(plan.newOptional).toEqual([]);
  });

  it('a declined optional datum is not asked again for the same request version', () => {
    const plan = planConsent(c, request(['given_name', 'family_name', 'phone_number']), consent({ declined: ['phone_number'] }), NOW);
    expect(plan.kind).toBe('nothing_new');
  });

  it('extension: only the data not yet decided are shown, with what was already agreed (canonical order)', () => {
    const plan = planConsent(
      c,
      request(['given_name', 'family_name', 'email', 'phone_number']),
      consent({ claims: ['family_name', 'given_name'], declined: ['phone_number'] }),
      NOW,
    );
    expect(plan).toEqual({ kind: 'extension', newRequired: [], newOptional: ['email'], alreadyConsented: ['given_name', 'family_name'] });
  });

  it('extension can carry a new required datum', () => {
    const plan = planConsent(c, request(['given_name', 'family_name', 'email']), consent({ claims: ['given_name', 'email'] }), NOW);
    expect(plan.kind).toBe('extension');
    expect(plan.newRequired).toEqual(['family_name']);
    expect(plan.newOptional).toEqual([]);
  });

  it('a request asking less than consented is nothing new', () => {
    const plan = planConsent(c, request(['given_name']), consent({ claims: ['given_name', 'family_name', 'email'] }), NOW);
    expect(plan.kind).toBe('nothing_new');
    expect(plan.alreadyConsented).toEqual(['given_name', 'family_name', 'email']);
  });

  it('a changed request version asks everything again, declined data included', () => {
    const old = consent({ request_version: 2, claims: ['given_name', 'family_name'], declined: ['email'] });
    const plan = planConsent(c, request(['given_name', 'family_name', 'email']), old, NOW);
    expect(plan).toEqual({ kind: 'first', newRequired: ['given_name', 'family_name'], newOptional: ['email'], alreadyConsented: [] });
  });

  it('a withdrawn or expired-status consent asks everything again', () => {
    for (const status of ['withdrawn', 'expired'] as const) {
      const plan = planConsent(c, request(['given_name', 'family_name']), consent({ status }), NOW);
      expect(plan.kind).toBe('first');
      expect(plan.newRequired).toEqual(['given_name', 'family_name']);
    }
  });

  it('expiry boundary: a consent expiring exactly now is no longer current; one millisecond later it is', () => {
    const data = request(['given_name', 'family_name']);
    expect(planConsent(c, data, consent({ expires_at: new Date(NOW.getTime()) }), NOW).kind).toBe('first');
    expect(planConsent(c, data, consent({ expires_at: new Date(NOW.getTime() - 1) }), NOW).kind).toBe('first');
    expect(planConsent(c, data, consent({ expires_at: new Date(NOW.getTime() + 1) }), NOW).kind).toBe('nothing_new');
  });
});

/** A Grant that records the calls applyToGrant makes (the only methods it uses). */
function fakeGrant() {
  const calls = {
    addScopes: [] as string[],
    rejectScopes: [] as string[],
    addClaims: [] as string[],
    rejectClaims: [] as string[],
    rejectClaimsCalls: 0,
  };
  const grant = {
    addOIDCScope(scope: string) {
      calls.addScopes.push(...scope.split(' '));
    },
    rejectOIDCScope(scope: string) {
      calls.rejectScopes.push(...scope.split(' '));
    },
    addOIDCClaims(claims: string[]) {
      calls.addClaims.push(...claims);
    },
    rejectOIDCClaims(claims: string[]) {
      calls.rejectClaimsCalls++;
      calls.rejectClaims.push(...claims);
    },
  };
  return { grant: grant as unknown as Parameters<typeof applyToGrant>[0], calls };
}

describe('applyToGrant', () => {
  const c = client();

  it('grants scopes with a consented datum, rejects scopes whose data were all declined', () => {
    const { grant, calls } = fakeGrant();
    const granted = applyToGrant(grant, c, { claims: ['given_name', 'family_name', 'email'], declined: ['phone_number'] }, [
      'openid',
      'profile',
      'email',
      'phone',
    ]);
    expect(granted).toEqual(['openid', 'profile', 'email']);
    expect(calls.addScopes).toEqual(['openid', 'profile', 'email']);
    expect(calls.rejectScopes).toEqual(['phone']);
  });

  it('releases consented claims with their companions, plus sub and updated_at, and nothing else', () => {
    const { grant, calls } = fakeGrant();
    applyToGrant(grant, c, { claims: ['given_name', 'family_name', 'email'], declined: ['phone_number'] }, [
      'openid',
      'profile',
      'email',
      'phone',
    ]);
    expect(new Set(calls.addClaims)).toEqual(
      new Set(['sub', 'updated_at', 'given_name', 'family_name', 'name', 'email', 'email_verified']),
    );
  });

  it('releases name only with the given names and a last name (birth or usage name)', () => {
    const names = client({ claims_required: ['given_name'], claims_optional: ['family_name', 'preferred_username'] });
    const added = (claims: string[]) => {
      const { grant, calls } = fakeGrant();
      applyToGrant(grant, names, { claims, declined: [] }, ['openid', 'profile']);
      return { added: calls.addClaims, rejected: calls.rejectClaims };
    };
    expect(added(['given_name', 'family_name']).added).toContain('name');
    expect(added(['given_name', 'preferred_username']).added).toContain('name');
    expect(added(['given_name']).added).not.toContain('name');
    expect(added(['given_name']).rejected).toContain('name');
    expect(added(['family_name', 'preferred_username']).added).not.toContain('name');
  });

  it('rejects declined claims (and their companions) and claims the service never registered', () => {
    const { grant, calls } = fakeGrant();
    applyToGrant(grant, c, { claims: ['given_name', 'family_name', 'email'], declined: ['phone_number'] }, [
      'openid',
      'profile',
      'email',
      'phone',
    ]);
    const rejected = new Set(calls.rejectClaims);
    for (const claim of [
      'phone_number',
      'phone_number_verified',
      'birthdate',
      'gender',
      'preferred_username',
      'address',
      'birthplace',
      'birthcountry',
      'verified_claims',
    ]) {
      expect(rejected.has(claim), claim).toBe(true);
    }
    for (const claim of ['sub', 'updated_at', 'given_name', 'family_name', 'email', 'email_verified']) {
      expect(rejected.has(claim), claim).toBe(false);
    }
  });

  it('leaves undecided registered data and their scope out, so that the provider asks again', () => {
    const { grant, calls } = fakeGrant();
    const granted = applyToGrant(grant, c, { claims: ['given_name', 'family_name'], declined: [] }, ['openid', 'profile', 'email']);
    expect(granted).toEqual(['openid', 'profile']);
    expect(calls.addScopes).not.toContain('email');
    expect(calls.rejectScopes).not.toContain('email');
    expect(calls.addClaims).not.toContain('email');
    expect(calls.rejectClaims).not.toContain('email');
    expect(calls.rejectClaims).not.toContain('email_verified');
  });

  it('a scope is left out while one of its registered data is undecided, even if another is consented', () => {
    const both = client({ claims_required: ['given_name'], claims_optional: ['birthdate'] });
    const { grant, calls } = fakeGrant();
    expect(applyToGrant(grant, both, { claims: ['given_name'], declined: [] }, ['profile'])).toEqual([]);
    expect(calls.rejectScopes).toEqual([]);
  });

  it('rejects a scope for which the service registered no datum', () => {
    const { grant, calls } = fakeGrant();
    const granted = applyToGrant(grant, c, { claims: ['given_name', 'family_name'], declined: [] }, [
      'address',
      'birth',
      'identite_certifiee',
    ]);
    expect(granted).toEqual([]);
    expect(calls.rejectScopes.sort()).toEqual(['address', 'birth', 'identite_certifiee']);
  });

  it('always grants openid and offline_access, rejects technical scopes, ignores unknown ones', () => {
    const { grant, calls } = fakeGrant();
    const granted = applyToGrant(grant, c, { claims: [], declined: [] }, ['openid', 'offline_access', 'deleted_accounts:read', 'made_up']);
    expect(granted).toEqual(['openid', 'offline_access']);
    expect(calls.rejectScopes).toEqual(['deleted_accounts:read']);
    expect(calls.addScopes).not.toContain('made_up');
    expect(calls.rejectScopes).not.toContain('made_up');
  });

  it('handles each scope once even when repeated', () => {
    const { grant, calls } = fakeGrant();
    expect(applyToGrant(grant, c, { claims: ['email'], declined: [] }, ['openid', 'email', 'openid', 'email'])).toEqual([
      'openid',
      'email',
    ]);
    expect(calls.addScopes).toEqual(['openid', 'email']);
  });

  it('does not call rejectOIDCClaims when nothing is refused', () => {
    const every = [
      'given_name',
      'family_name',
      'preferred_username',
      'birthdate',
      'gender',
      'email',
      'phone_number',
      'address',
      'birthplace',
      'birthcountry',
      'verified_claims',
    ];
    const all = client({ claims_required: every, claims_optional: [] });
    const { grant, calls } = fakeGrant();
    applyToGrant(grant, all, { claims: every, declined: [] }, ['openid']);
    expect(calls.rejectClaimsCalls).toBe(0);
  });
});

describe('filterReleasedClaims', () => {
  const verification = { trust_framework: 'eidas', assurance_level: 'low', time: '2026-11-28T09:41:07Z' };
  const full: Claims = {
    sub: 'pairwise-sub',
    updated_at: 1_700_000_000,
    given_name: 'Angela Claire Louise',
    family_name: 'DUBOIS',
    birthdate: '1962-08-24',
    email: 'angela@example.fr',
    email_verified: true,
    phone_number: '+33612345678',
    phone_number_verified: false,
    verified_claims: { verification, claims: { given_name: 'Angela Claire Louise', family_name: 'DUBOIS', birthdate: '1962-08-24' } },
  };

  describe('name', () => {
    const named: Claims = { ...full, preferred_username: 'MARTIN', name: 'Angela Claire Louise MARTIN' };

    it('is rebuilt from the released names only', () => {
      expect(filterReleasedClaims(named, ['given_name', 'family_name']).name).toBe('Angela Claire Louise DUBOIS');
      expect(filterReleasedClaims(named, ['given_name', 'preferred_username']).name).toBe('Angela Claire Louise MARTIN');
      expect(filterReleasedClaims(named, ['given_name', 'family_name', 'preferred_username']).name).toBe('Angela Claire Louise MARTIN');
    });

    it('is not released without the given names and a last name', () => {
      expect(filterReleasedClaims(named, ['given_name'])).not.toHaveProperty('name');
      expect(filterReleasedClaims(named, ['family_name', 'preferred_username'])).not.toHaveProperty('name');
      expect(filterReleasedClaims(named, [])).not.toHaveProperty('name');
      expect(filterReleasedClaims(named, undefined)).toEqual({ sub: 'pairwise-sub' });
    });

    it('is not made up when the account had none', () => {
      expect(filterReleasedClaims(full, ['given_name', 'family_name'])).not.toHaveProperty('name');
    });
  });

  it('without a consent in force, only sub leaves', () => {
    expect(filterReleasedClaims(full, undefined)).toEqual({ sub: 'pairwise-sub' });
  });

  it('with an empty consent, only sub and updated_at leave', () => {
    expect(filterReleasedClaims(full, [])).toEqual({ sub: 'pairwise-sub', updated_at: 1_700_000_000 });
  });

  it('releases consented data and their companions only', () => {
    expect(filterReleasedClaims(full, ['given_name', 'email'])).toEqual({
      sub: 'pairwise-sub',
      updated_at: 1_700_000_000,
      given_name: 'Angela Claire Louise',
      email: 'angela@example.fr',
      email_verified: true,
    });
  });

  it('a companion alone is not released when its datum is not consented', () => {
    const out = filterReleasedClaims(full, ['email']);
    expect(out).not.toHaveProperty('phone_number_verified');
    expect(out).not.toHaveProperty('phone_number');
  });

  it('verified_claims keeps only the consented certified data, and its verification', () => {
    const out = filterReleasedClaims(full, ['given_name', 'verified_claims']);
    expect(out.verified_claims).toEqual({ verification, claims: { given_name: 'Angela Claire Louise' } });
    expect(out).not.toHaveProperty('family_name');
  });

  it('verified_claims is not released when it was not consented, even if its data were', () => {
    expect(filterReleasedClaims(full, ['given_name', 'family_name'])).not.toHaveProperty('verified_claims');
  });

  it('an emptied verified_claims is not released', () => {
    expect(filterReleasedClaims(full, ['email', 'verified_claims'])).not.toHaveProperty('verified_claims');
  });

  it('filters each element of a verified_claims array and drops the emptied ones', () => {
    const claims: Claims = {
      sub: 's',
      verified_claims: [
        { verification, claims: { given_name: 'A', birthdate: '1962-08-24' } },
        { verification, claims: { family_name: 'B' } },
        { verification, claims: { birthdate: '1962-08-24', gender: 'female' } },
      ],
    };
    const out = filterReleasedClaims(claims, ['given_name', 'gender', 'verified_claims']);
    expect(out.verified_claims).toEqual([
      { verification, claims: { given_name: 'A' } },
      { verification, claims: { gender: 'female' } },
    ]);
    expect(filterReleasedClaims(claims, ['email', 'verified_claims'])).not.toHaveProperty('verified_claims');
  });

  it('drops malformed verified_claims', () => {
    for (const bad of ['text', null, { verification }, { verification, claims: 'given_name' }]) {
      expect(filterReleasedClaims({ sub: 's', verified_claims: bad }, ['given_name', 'verified_claims'])).toEqual({ sub: 's' });
    }
  });

  it('does not modify the claims it filters', () => {
    const copy = structuredClone(full);
    filterReleasedClaims(full, ['given_name', 'verified_claims']);
    expect(full).toEqual(copy);
  });
});

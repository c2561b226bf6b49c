// FranceConnect identities and accounts: every fixture identity stored and certified (T8),
// account linking (T9), civil-status change, unlinking, linking from the account area,
// verified_claims seen by an openid-client service, logout (T10) and the button (T12).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { Browser, type Page } from './support/browser.js';
import { authorizationRequest, callbackUrl, registerClient, startTestGlc, STRONG_PASSWORD, type TestGlc } from './support/glc.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { isErrorIdentity, type FcPivotIdentity } from '../src/franceconnect/mock/mock.js';
import { atFranceConnect, backAtGlc, clickFranceConnect, devMock, franceConnectLogin, loginPage } from './franceconnect-helpers.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
});
afterAll(async () => {
  await glc?.close();
});

const PIVOT = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'] as const;
const identity = (login: string) => devMock(glc).identities.find((i) => i.login === login) as FcPivotIdentity;

async function linkOf(accountId: string) {
  return glc.services.db.selectFrom('franceconnect_links').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}
async function certified(accountId: string) {
  const rows = await glc.services.db.selectFrom('franceconnect_certified_fields').selectAll().where('account_id', '=', accountId).execute();
  return Object.fromEntries(rows.map((r) => [r.field, r]));
}
async function accountByName(given: string, family: string) {
  return glc.services.db.selectFrom('accounts').selectAll().where('given_name', '=', given).where('family_name', '=', family).execute();
}
/** A local account with a password and a verified email, holding `declared` identity fields. */
async function localAccount(email: string, declared: Record<string, string | null> = {}) {
  const account = await glc.services.accountStore.create({
    email,
    passwordHash: await hashPassword(STRONG_PASSWORD),
    emailVerifiedAt: new Date(),
  });
  await glc.services.accountStore.update(account.id, declared);
  return account.id;
}
async function createFromFranceConnect(login: string): Promise<{ browser: Browser; accountId: string }> {
  const { browser, page } = await franceConnectLogin(glc, login);
  expect(page.html).toContain('Première connexion avec FranceConnect');
  const done = await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.pathname === '/compte/callback');
  expect(done.location).toContain('/compte/callback');
  await browser.follow(await browser.get(done.location!));
  const i = identity(login);
  const [account] = await accountByName(i.given_name, i.family_name);
  return { browser, accountId: account!.id };
}
async function passwordLogin(email: string): Promise<Browser> {
  const { browser, page } = await loginPage(glc);
  const res = await browser.follow(await browser.submit(page, /\/login$/, { email, password: STRONG_PASSWORD }));
  expect(res.url).toMatch(/\/compte$/);
  return browser;
}
async function resetAccounts() {
  await glc.services.db.deleteFrom('accounts').execute();
}

describe('T8 every fixture identity is parsed, stored and certified', () => {
  it('creates an account from each pivot identity with exactly FranceConnect’s values', async () => {
    const pivots = devMock(glc).identities.filter((i): i is FcPivotIdentity => !isErrorIdentity(i));
    expect(pivots.length).toBeGreaterThanOrEqual(12);
    for (const fc of pivots) {
      const { accountId } = await createFromFranceConnect(fc.login);
      const account = (await glc.services.accountStore.findById(accountId))!;
      for (const field of PIVOT) expect(account[field], `${fc.login}.${field}`).toBe(fc[field]);
      expect(account.email).toBe(fc.email ?? null);
      expect(account.email_verified_at !== null).toBe(fc.email !== undefined); // no new verification of FC’s email
      expect(account.password_hash).toBeNull();
      expect(account.preferred_username).toBe(fc.preferred_username || null);
      const cert = await certified(accountId);
      expect(Object.keys(cert).sort()).toEqual([...PIVOT].sort()); // never email nor usage name
      for (const field of PIVOT) {
        expect(cert[field]!.value).toBe(fc[field]);
        expect(cert[field]!.source).toBe('FranceConnect');
        expect(cert[field]!.acr).toBe('eidas1');
      }
      expect((await linkOf(accountId))!.sub).toMatch(/^[0-9a-f]{64}v1$/);
    }
    // Edge cases spelled out.
    const [abroad] = await accountByName('Yasmine', 'BENALI');
    expect([abroad!.birthplace, abroad!.birthcountry]).toEqual(['', '99352']);
    const [corse] = await accountByName('Paul', 'SANTONI');
    expect(corse!.birthplace).toBe('2A004');
    const [presumed] = await accountByName('Amadou', 'DIALLO');
    expect(presumed!.birthdate).toBe('1992-01-01');
    const [several] = await accountByName('Louis Jean Baptiste', "N'DIAYE");
    expect(several).toBeDefined();
    const [noMail] = await accountByName('Bernard', 'LEFEBVRE');
    expect(noMail!.email).toBeNull();
    const [unspecified] = await accountByName('Camille', 'ROUSSEAU');
    expect(unspecified!.gender).toBe('unspecified');
    const [usage] = await accountByName('Jean', 'MARTIN');
    expect(usage!.preferred_username).toBe('DURAND');
    expect(await glc.services.franceConnect.certifiedFields(usage!.id)).toEqual(new Set(PIVOT));
  });
});

describe('T9 account linking', () => {
  beforeAll(resetAccounts);

  it('links automatically to the one account holding the six fields (after normalisation), and says so', async () => {
    const accountId = await localAccount('angela@example.org', {
      given_name: 'angela  claire louise',
      family_name: 'Dubois',
      birthdate: '1962-08-24',
      gender: 'F',
      birthplace: '75107',
      birthcountry: '99100',
    });
    const { browser, page } = await franceConnectLogin(glc, 'test');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Votre identité FranceConnect est associée à votre compte');
    expect(page.html).toContain('a•••@example.org');
    const done = await browser.follow(await browser.submit(page, /\/franceconnect\/continuer$/), (u) => u.pathname === '/compte/callback');
    expect(done.location).toContain('/compte/callback');
    expect(await linkOf(accountId)).toBeDefined();
    const account = (await glc.services.accountStore.findById(accountId))!;
    expect([account.given_name, account.family_name, account.gender]).toEqual(['Angela Claire Louise', 'DUBOIS', 'female']);
    const events = await glc.services.db
      .selectFrom('account_events')
      .select(['type', 'detail'])
      .where('account_id', '=', accountId)
      .execute();
    expect(events.some((e) => e.type === 'franceconnect_linked' && (e.detail as { method?: string }).method === 'automatic')).toBe(true);
  });

  it('a known sub logs straight in', async () => {
    const { page } = await franceConnectLogin(glc, 'test');
    expect(page.location).toContain('/compte/callback');
  });

  it('links a presumed birth date declared with its 00 parts, and a foreign birth with no birthplace', async () => {
    const accountId = await localAccount('amadou@example.org', {
      given_name: 'Amadou',
      family_name: 'Diallo',
      birthdate: '1992-00-00',
      gender: 'male',
      birthplace: null,
      birthcountry: '99335',
    });
    const { page } = await franceConnectLogin(glc, 'date_presumee');
    expect(page.html).toContain('Votre identité FranceConnect est associée à votre compte');
    expect(await linkOf(accountId)).toBeDefined();
  });

  it('never links on email alone', async () => {
    const accountId = await localAccount('jean.martin@example.fr'); // FranceConnect’s email of « avec_nom_dusage », no identity declared
    const { page } = await franceConnectLogin(glc, 'avec_nom_dusage');
    expect(page.html).toContain('Première connexion avec FranceConnect');
    expect(await linkOf(accountId)).toBeUndefined();
  });

  it('never guesses between two matching accounts', async () => {
    const pivot = {
      given_name: 'Marie-Hélène',
      family_name: 'TROIS-DUPRÉ',
      birthdate: '1975-11-30',
      gender: 'female',
      birthplace: '69266',
      birthcountry: '99100',
    };
    const a = await localAccount('mh1@example.org', pivot);
    const b = await localAccount('mh2@example.org', pivot);
    const { page } = await franceConnectLogin(glc, 'nom_compose');
    expect(page.html).toContain('Première connexion avec FranceConnect');
    expect(await linkOf(a)).toBeUndefined();
    expect(await linkOf(b)).toBeUndefined();
  });

  it('does not link automatically when FC_AUTO_LINK is off', async () => {
    const accountId = await localAccount('louis@example.org', {
      given_name: 'Louis Jean Baptiste',
      family_name: "N'DIAYE",
      birthdate: '2001-01-05',
      gender: 'male',
      birthplace: '69259',
      birthcountry: '99100',
    });
    glc.config.franceConnect.autoLink = false;
    try {
      const { page } = await franceConnectLogin(glc, 'plusieurs_prenoms');
      expect(page.html).toContain('Première connexion avec FranceConnect');
      expect(await linkOf(accountId)).toBeUndefined();
    } finally {
      glc.config.franceConnect.autoLink = true;
    }
  });

  it('« J’ai déjà un compte »: the password proves it, then the link is made', async () => {
    const [account] = await glc.services.db.selectFrom('accounts').select('id').where('email', '=', 'jean.martin@example.fr').execute();
    const { browser, page } = await franceConnectLogin(glc, 'avec_nom_dusage');
    const wrong = await browser.submit(page, /\/franceconnect\/associer$/, {
      email: 'jean.martin@example.fr',
      password: 'not the right password at all',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('Adresse électronique ou mot de passe incorrect.');
    expect(wrong.html).toContain('aria-invalid="true"');
    expect(await linkOf(account!.id)).toBeUndefined();
    const done = await browser.follow(
      await browser.submit(wrong, /\/franceconnect\/associer$/, { email: 'jean.martin@example.fr', password: STRONG_PASSWORD }),
      (u) => u.pathname === '/compte/callback',
    );
    expect(done.location).toContain('/compte/callback');
    expect(await linkOf(account!.id)).toBeDefined();
    expect((await certified(account!.id)).family_name!.value).toBe('MARTIN');
  });

  it('refreshes certified values on a civil-status change', async () => {
    const [account] = await glc.services.db.selectFrom('accounts').select('id').where('email', '=', 'jean.martin@example.fr').execute();
    const before = (await certified(account!.id)).family_name!.certified_at;
    const fc = identity('avec_nom_dusage');
    fc.family_name = 'MARTIN-DURAND';
    try {
      const { page } = await franceConnectLogin(glc, 'avec_nom_dusage');
      expect(page.location).toContain('/compte/callback');
    } finally {
      fc.family_name = 'MARTIN';
    }
    const after = (await certified(account!.id)).family_name!;
    expect(after.value).toBe('MARTIN-DURAND');
    expect(after.certified_at.getTime()).toBeGreaterThan(before.getTime());
    expect((await glc.services.accountStore.findById(account!.id))!.family_name).toBe('MARTIN-DURAND');
  });
});

describe('account area: certify with FranceConnect, unlink rules', () => {
  it('refuses to unlink an account whose only way to log in is FranceConnect', async () => {
    const { browser, accountId } = await createFromFranceConnect('sans_mail');
    const page = await browser.get('/compte/franceconnect');
    expect(page.status).toBe(200);
    expect(page.html).toContain('seul moyen de vous connecter');
    // Certified values by their names, not INSEE codes (sans_mail: born in Lille, France).
    expect(page.html).toContain('Lille (59), code INSEE 59350');
    expect(page.html).toContain('France (99100)');
    expect(page.html).not.toContain('action="/compte/franceconnect/dissocier"');
    const csrf =
      /name="_csrf" value="([^"]+)"/.exec(page.html)?.[1] ?? /name="_csrf" value="([^"]+)"/.exec((await browser.get('/compte')).html)![1]!;
    const refused = await browser.post('/compte/franceconnect/dissocier', { _csrf: csrf });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('Vous ne pouvez pas dissocier FranceConnect');
    expect(await linkOf(accountId)).toBeDefined();
  });

  it('unlinks an account with a password: certification removed, values stay as declared', async () => {
    const [account] = await glc.services.db.selectFrom('accounts').select('id').where('email', '=', 'jean.martin@example.fr').execute();
    const browser = await passwordLogin('jean.martin@example.fr');
    const page = await browser.get('/compte/franceconnect');
    expect(page.html).toContain('Informations certifiées par FranceConnect');
    const res = await browser.submit(page, /\/compte\/franceconnect\/dissocier$/);
    expect(res.status).toBe(303);
    expect(await linkOf(account!.id)).toBeUndefined();
    expect(await certified(account!.id)).toEqual({});
    expect((await glc.services.accountStore.findById(account!.id))!.family_name).toBe('MARTIN-DURAND'); // as last certified
    expect((await browser.follow(res)).html).toContain('FranceConnect n’est plus associé à votre compte');
  });

  it('« Certifier mon identité avec FranceConnect » links the signed-in account', async () => {
    const [account] = await glc.services.db.selectFrom('accounts').select('id').where('email', '=', 'jean.martin@example.fr').execute();
    const browser = await passwordLogin('jean.martin@example.fr');
    const page = await browser.get('/compte/franceconnect');
    expect(page.html).toContain('Certifier mon identité avec FranceConnect');
    const toFc = await browser.submit(page, /\/compte\/franceconnect\/associer$/);
    expect(toFc.status).toBe(303);
    const callback = await atFranceConnect(browser, new URL(toFc.location!), 'avec_nom_dusage');
    const back = await browser.get(callback.href);
    expect(back.location).toBe('/compte/franceconnect?resultat=associe');
    expect(await linkOf(account!.id)).toBeDefined();
    expect(Object.keys(await certified(account!.id))).toHaveLength(6);
  });

  it('refuses to link an identity already linked to another account', async () => {
    const browser = await passwordLogin('mh1@example.org');
    const page = await browser.get('/compte/franceconnect');
    const toFc = await browser.submit(page, /\/compte\/franceconnect\/associer$/);
    const callback = await atFranceConnect(browser, new URL(toFc.location!), 'avec_nom_dusage'); // Jean’s, linked above
    const back = await browser.follow(await browser.get(callback.href));
    expect(back.html).toContain('déjà associée à un autre compte');
  });
});

describe('a service receives verified_claims (service → GLC → FC → GLC → consent → service)', () => {
  it('releases OIDC4IA verified_claims with the identite_certifiee scope', async () => {
    const client = await registerClient(glc, {
      scope: 'openid profile birth identite_certifiee',
      redirectUris: ['http://127.0.0.1:9/fc-journey'],
      postLogoutRedirectUris: ['http://127.0.0.1:9/after-logout'],
      claimsOptional: ['verified_claims'],
    });
    const pending = await authorizationRequest(client, { scope: 'openid profile birth identite_certifiee' });
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get(pending.url.href));
    const authorize = await clickFranceConnect(browser, login);
    let page: Page = await backAtGlc(browser, await atFranceConnect(browser, authorize, 'naissance_corse_2a'), (u) =>
      u.href.startsWith(client.redirectUri),
    );
    if (/\/franceconnect\/creer"/.test(page.html))
      page = await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.href.startsWith(client.redirectUri));
    if (!page.location?.startsWith(client.redirectUri) && /\/consent"/.test(page.html)) {
      // The consent page: the certified identity is an optional datum the resident ticks.
      page = await browser.follow(await browser.submit(page, /\/consent$/, { optional: 'verified_claims' }), (u) =>
        u.href.startsWith(client.redirectUri),
      );
    }
    const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const claims = tokens.claims()!;
    // The service can tell the login went through FranceConnect.
    expect(claims.acr).toBe('eidas1');
    expect(claims.amr).toEqual(['fc']);
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, claims.sub);
    expect(userinfo.family_name).toBe('SANTONI');
    expect(userinfo.verified_claims).toEqual({
      verification: {
        trust_framework: 'eidas',
        assurance_level: 'low',
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
        evidence: [{ type: 'electronic_record', record: { type: 'france_connect', source: { name: 'FranceConnect' } } }],
      },
      claims: {
        given_name: 'Paul',
        family_name: 'SANTONI',
        birthdate: '1958-02-28',
        gender: 'male',
        birthplace: '2A004',
        birthcountry: '99100',
      },
    });

    // T10 from a service: RP-initiated logout ends GLC, then FranceConnect, then back to the service.
    const rpState = oidc.randomState();
    const end = oidc.buildEndSessionUrl(client.config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/after-logout',
      state: rpState,
    });
    const confirm = await browser.get(end.href);
    const toFc = await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(toFc.status).toBe(303);
    const fcLogout = new URL(toFc.location!);
    expect(fcLogout.pathname).toBe('/franceconnect-mock/api/v2/session/end');
    const back = await browser.get(fcLogout.href);
    const landed = await browser.get(new URL(back.location!, back.url).href);
    expect(landed.location).toBe(`http://127.0.0.1:9/after-logout?state=${rpState}`);
  });

  it('releases verified_claims requested through the claims parameter (OIDC4IA request)', async () => {
    // Registered for identite_certifiee, but asking for verified_claims with the claims parameter only.
    const client = await registerClient(glc, {
      scope: 'openid profile birth identite_certifiee',
      redirectUris: ['http://127.0.0.1:9/claims-param'],
      claimsOptional: ['verified_claims'],
    });
    const request = {
      userinfo: {
        verified_claims: { verification: { trust_framework: null }, claims: { given_name: null, family_name: null, birthdate: null } },
      },
    };
    const pending = await authorizationRequest(client, { scope: 'openid profile birth', claims: JSON.stringify(request) });
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get(pending.url.href));
    let page = await backAtGlc(
      browser,
      await atFranceConnect(browser, await clickFranceConnect(browser, login), 'naissance_corse_2a'),
      (u) => u.href.startsWith(client.redirectUri),
    );
    if (/\/franceconnect\/creer"/.test(page.html))
      page = await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), (u) => u.href.startsWith(client.redirectUri));
    if (!page.location?.startsWith(client.redirectUri) && /\/consent"/.test(page.html)) {
      page = await browser.follow(await browser.submit(page, /\/consent$/, { optional: 'verified_claims' }), (u) =>
        u.href.startsWith(client.redirectUri),
      );
    }
    const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub);
    const vc = userinfo.verified_claims as { verification: { trust_framework: string }; claims: Record<string, string> };
    expect(vc.verification.trust_framework).toBe('eidas');
    expect(vc.claims).toMatchObject({ given_name: 'Paul', family_name: 'SANTONI', birthdate: '1958-02-28' });
  });

  it('leaves verified_claims out without identite_certifiee', async () => {
    const client = await registerClient(glc, { scope: 'openid profile', redirectUris: ['http://127.0.0.1:9/plain'] });
    const pending = await authorizationRequest(client, { scope: 'openid profile' });
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get(pending.url.href));
    let page = await backAtGlc(
      browser,
      await atFranceConnect(browser, await clickFranceConnect(browser, login), 'naissance_corse_2a'),
      (u) => u.href.startsWith(client.redirectUri),
    );
    if (!page.location?.startsWith(client.redirectUri) && /\/consent"/.test(page.html)) {
      page = await browser.follow(await browser.submit(page, /\/consent$/), (u) => u.href.startsWith(client.redirectUri));
    }
    const tokens = await oidc.authorizationCodeGrant(client.config, callbackUrl(page), {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
    });
    const userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, tokens.claims()!.sub);
    expect(userinfo.family_name).toBe('SANTONI');
    expect(userinfo.verified_claims).toBeUndefined();
  });
});

describe('T10 logout of a session opened through FranceConnect', () => {
  it('ends GLC, then FranceConnect with the raw ID token and a fresh state; no silent login after', async () => {
    const { browser, page } = await franceConnectLogin(glc, 'outre_mer_polynesie');
    await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/));
    const home = await browser.get('/compte');
    expect(home.status).toBe(200);

    const toEnd = await browser.submit(home, /\/compte\/deconnexion$/);
    const confirm = await browser.get(new URL(toEnd.location!, toEnd.url).href);
    const toFc = await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(toFc.status).toBe(303);
    const fcLogout = new URL(toFc.location!);
    expect(fcLogout.href.startsWith(`${glc.config.issuer}/franceconnect-mock/api/v2/session/end?`)).toBe(true);
    expect([...fcLogout.searchParams.keys()].sort()).toEqual(['id_token_hint', 'post_logout_redirect_uri', 'state']);
    expect(fcLogout.searchParams.get('state')).toMatch(/^[0-9a-f]{64}$/);
    expect(fcLogout.searchParams.get('post_logout_redirect_uri')).toBe(`${glc.config.issuer}/franceconnect/deconnexion`);
    const hint = decodeJwt(fcLogout.searchParams.get('id_token_hint')!);
    expect(hint.iss).toBe(`${glc.config.issuer}/franceconnect-mock/api/v2`);
    expect(hint.acr).toBe('eidas1');
    // The local session is already over.
    expect((await browser.get('/compte')).location).toMatch(/^\/compte\/connexion/);

    const back = await browser.get(fcLogout.href);
    const returned = new URL(back.location!, back.url);
    expect(returned.pathname).toBe('/franceconnect/deconnexion');
    expect(returned.searchParams.get('state')).toBe(fcLogout.searchParams.get('state'));
    const landed = await browser.follow(await browser.get(returned.href));
    expect(landed.status).toBe(200);
    expect(landed.url).toMatch(/\/compte\/au-revoir$/);

    // No auto-login: GLC asks again, and so does FranceConnect (its SSO session ended).
    const again = await loginPage(glc, browser);
    const authorize = await clickFranceConnect(again.browser, again.page);
    const atFc = await browser.get(authorize.href);
    expect(atFc.location).toContain('/franceconnect-mock/api/v2/interaction/');

    // The state is single use: the same return again is not confirmed.
    const replay = await browser.get(returned.href);
    expect(replay.status).toBe(200);
    expect(replay.html).toContain('pas pu confirmer votre déconnexion de FranceConnect');
  });
});

describe('T12 the FranceConnect button', () => {
  for (const [name, path] of [
    ['login', ''],
    ['sign-up', '/inscription'],
  ] as const) {
    it(`comes first on the ${name} page, per FranceConnect’s rules`, async () => {
      const { browser, page } = await loginPage(glc);
      const html = path ? (await browser.get(`${page.url}${path}`)).html : page.html;
      const button = html.indexOf('data-testid="franceconnect-button"');
      const passwordForm = html.search(/<form[^>]*action="\/interaction\/[^"]+\/(login|inscription)"/);
      expect(button).toBeGreaterThan(-1);
      expect(button).toBeLessThan(passwordForm);
      expect(html).toMatch(/S’identifier avec[\s\S]{0,60}FranceConnect/);
      const ou = html.indexOf('<span>ou</span>');
      expect(ou).toBeGreaterThan(button);
      expect(ou).toBeLessThan(passwordForm);
      expect(html).toMatch(
        /<a href="https:\/\/franceconnect\.gouv\.fr\/" target="_blank" rel="noopener"[^>]*>Qu’est-ce que FranceConnect \?<\/a>/,
      );
      expect(html).toMatch(/action="\/interaction\/[^"]+\/franceconnect"/);
    });
  }
});

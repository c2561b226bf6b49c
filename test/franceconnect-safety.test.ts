// FranceConnect safety nets: « Ce n’est pas mon compte » undoes an automatic link, and a
// FranceConnect sub that changed is never relinked on its own to an account without password
// (the help desk handles it with a reference).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGlc, STRONG_PASSWORD, type TestGlc } from './support/glc.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { runCli } from '../src/cli/main.js';
import { accountIdOfSub, franceConnectLogin, isAccountAreaCallback } from './franceconnect-helpers.js';

const lines: string[] = [];
let glc: TestGlc;
const savedEnv = { ...process.env };
beforeAll(async () => {
  glc = await startTestGlc(
    { LOG_LEVEL: 'info' },
    {
      logDestination: {
        write: (l) => {
          lines.push(l);
        },
      },
    },
  );
  // The glc command (help desk) reads the same settings as the server.
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: glc.database.env.DATA_DIR,
    DATABASE_URL: glc.database.env.DATABASE_URL,
  });
});
afterAll(async () => {
  process.env = savedEnv;
  await glc?.close();
});

/** `glc franceconnect recovery <action> <reference> --json`, as the help desk runs it. */
async function helpDesk(action: 'show' | 'relink', reference: string, accountId?: string): Promise<{ code: number; json?: unknown }> {
  let out = '';
  const code = await runCli(
    ['franceconnect', 'recovery', action, reference, ...(accountId ? ['--account', accountId] : []), '--json'],
    (t) => {
      out += t;
    },
    { services: glc.services },
  );
  return { code, json: out ? JSON.parse(out) : undefined };
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const logEntries = (event: string) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === event);
const db = () => glc.services.db;

async function linkOf(accountId: string) {
  return db().selectFrom('franceconnect_links').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}
async function eventsOf(accountId: string) {
  return db().selectFrom('account_events').select(['type', 'detail']).where('account_id', '=', accountId).orderBy('id').execute();
}
async function accountsNamed(family: string) {
  return db().selectFrom('accounts').selectAll().where('family_name', '=', family).execute();
}

describe('« Ce n’est pas mon compte » after an automatic link', () => {
  const declared = {
    given_name: 'angela  claire louise',
    family_name: 'Dubois',
    birthdate: '1962-08-24',
    gender: 'F',
    birthplace: '75107',
    birthcountry: '99100',
  };

  it('undoes the link and the certification, restores the declared values, journals it, and offers « Créer mon compte »', async () => {
    const account = await glc.services.accountStore.create({
      email: 'homonyme@example.org',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
    await glc.services.accountStore.update(account.id, declared);

    const { browser, page } = await franceConnectLogin(glc, 'test');
    expect(page.html).toContain('Votre identité FranceConnect est associée à votre compte');
    expect(page.html).toContain('Ce n’est pas mon compte');
    expect(await linkOf(account.id)).toBeDefined(); // linked and certified, as announced
    expect((await glc.services.accountStore.findById(account.id))!.family_name).toBe('DUBOIS');

    const undone = await browser.submit(page, /\/franceconnect\/pas-mon-compte$/);
    expect(undone.status).toBe(200);
    expect(undone.html).toContain('L’association est annulée');
    expect(undone.html).toMatch(/action="\/interaction\/[^"]+\/franceconnect\/creer"/);

    // Link and certification gone, the account exactly as it was declared.
    expect(await linkOf(account.id)).toBeUndefined();
    expect(await glc.services.franceConnect.certifiedFields(account.id)).toEqual(new Set());
    expect(await glc.services.accountStore.findById(account.id)).toMatchObject(declared);
    const sub = (
      await db()
        .selectFrom('franceconnect_attempts')
        .select('sub')
        .where('outcome', '=', 'choose')
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow()
    ).sub!;
    const events = await eventsOf(account.id);
    expect(events.at(-1)).toEqual({ type: 'franceconnect_link_undone', detail: { reason: 'not_my_account', subHash: sha256(sub) } });
    expect(logEntries('franceconnect_link_undone')).toHaveLength(1);

    // The half-made session is over: no GLC session, and « Continuer » no longer leads into that account.
    expect((await browser.get('/compte')).location).toMatch(/^\/compte\/connexion/);
    const replay = await browser.submit(page, /\/franceconnect\/continuer$/);
    expect(replay.status).toBe(400);
    expect(await linkOf(account.id)).toBeUndefined();

    // Never linked automatically to that account again (another browser, same identity).
    const other = await franceConnectLogin(glc, 'test');
    expect(other.page.html).toContain('Première connexion avec FranceConnect');
    expect(await linkOf(account.id)).toBeUndefined();

    // « Créer mon compte »: a new account with the FranceConnect identity.
    const created = await browser.follow(await browser.submit(undone, /\/franceconnect\/creer$/), isAccountAreaCallback);
    expect(created.location).toContain('/compte/callback');
    const newId = await accountIdOfSub(glc, sub);
    expect(newId).toBeDefined();
    expect(newId).not.toBe(account.id);
    expect(await glc.services.accountStore.findById(newId!)).toMatchObject({
      given_name: 'Angela Claire Louise',
      family_name: 'DUBOIS',
      password_hash: null,
    });
    expect(await glc.services.accountStore.findById(account.id)).toMatchObject(declared);
  });

  it('is not offered once the link is confirmed with « Continuer »', async () => {
    const account = await glc.services.accountStore.create({
      email: 'jean.deux@example.org',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
    await glc.services.accountStore.update(account.id, {
      given_name: 'Jean',
      family_name: 'Martin',
      birthdate: '1981-03-12',
      gender: 'male',
      birthplace: '69123',
      birthcountry: '99100',
    });
    const { browser, page } = await franceConnectLogin(glc, 'avec_nom_dusage');
    const done = await browser.follow(await browser.submit(page, /\/franceconnect\/continuer$/), isAccountAreaCallback);
    expect(done.location).toContain('/compte/callback');
    const late = await browser.submit(page, /\/franceconnect\/pas-mon-compte$/);
    expect(late.status).toBe(400);
    expect(await linkOf(account.id)).toBeDefined();
  });
});

describe('a FranceConnect sub that changed', () => {
  const OLD_SUB = `${'ab'.repeat(32)}v1`;

  it('never relinks an account without password on its own: a page with a help-desk reference, an operator event, a journal entry', async () => {
    // Bernard’s account was created through FranceConnect (no password), then FranceConnect’s sub changed.
    const { browser, page } = await franceConnectLogin(glc, 'sans_mail');
    await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), isAccountAreaCallback);
    const [account] = await accountsNamed('LEFEBVRE');
    const newSub = (await linkOf(account!.id))!.sub;
    await db().updateTable('franceconnect_links').set({ sub: OLD_SUB }).where('account_id', '=', account!.id).execute();

    const first = await franceConnectLogin(glc, 'sans_mail');
    expect(first.page.status).toBe(200);
    expect(first.page.html).toContain('Retrouver votre compte avec l’assistance');
    expect(first.page.html).toContain('href="/aide/contact"');
    const reference = /data-testid="recovery-reference">(FC-[0-9A-Z]{4}-[0-9A-Z]{4})</.exec(first.page.html)?.[1];
    expect(reference).toBeDefined();
    expect(first.page.html).not.toMatch(/\/franceconnect\/(creer|continuer)"/);
    // Not relinked, not logged in, no second account.
    expect((await linkOf(account!.id))!.sub).toBe(OLD_SUB);
    expect(await accountsNamed('LEFEBVRE')).toHaveLength(1);
    expect((await first.browser.get('/compte')).location).toMatch(/^\/compte\/connexion/);
    // Creating an account anyway is refused (it would hide the old one).
    const csrf = /name="_csrf" value="([^"]+)"/.exec(first.page.html)![1]!;
    const forced = await first.browser.post(`${first.page.url.replace(/\/suite$/, '')}/creer`, { _csrf: csrf });
    expect(forced.status).toBe(400);
    expect(await accountsNamed('LEFEBVRE')).toHaveLength(1);

    const events = await eventsOf(account!.id);
    expect(events.at(-1)).toEqual({
      type: 'franceconnect_sub_change_detected',
      detail: { reference, oldSubHash: sha256(OLD_SUB), newSubHash: sha256(newSub) },
    });
    const [logged] = logEntries('franceconnect_recovery_requested');
    expect(logged).toMatchObject({ level: 40, reference, created: true });
    expect(lines.join('\n')).not.toMatch(/LEFEBVRE|Bernard|1940-04-02/);

    // Trying again gives the same reference, one request.
    const again = await franceConnectLogin(glc, 'sans_mail');
    expect(again.page.html).toContain(reference);
    expect(
      await db().selectFrom('franceconnect_recovery_requests').select('reference').where('account_id', '=', account!.id).execute(),
    ).toHaveLength(1);

    // The help desk finds the account behind the reference, checks who the resident is, relinks.
    const shown = await helpDesk('show', reference!);
    expect(shown.code).toBe(0);
    expect(shown.json).toMatchObject({ reference, accountId: account!.id, email: null });
    expect((await helpDesk('relink', 'FC-0000-0000')).code).toBe(1);
    expect(await helpDesk('relink', reference!.toLowerCase())).toEqual({ code: 0, json: { ok: true, accountId: account!.id } });
    expect((await linkOf(account!.id))!.sub).toBe(newSub);
    expect((await eventsOf(account!.id)).at(-1)).toEqual({
      type: 'franceconnect_linked',
      detail: { method: 'help_desk', reference, oldSubHash: sha256(OLD_SUB), newSubHash: sha256(newSub) },
    });
    expect((await helpDesk('relink', reference!)).code).toBe(1); // single use
    const back = await franceConnectLogin(glc, 'sans_mail');
    expect(back.page.location).toContain('/compte/callback');
  });

  it('lets an account with a password prove it on the choice page, and journals the old and new sub hashes', async () => {
    const account = await glc.services.accountStore.create({
      email: 'camille@example.org',
      passwordHash: await hashPassword(STRONG_PASSWORD),
      emailVerifiedAt: new Date(),
    });
    await glc.services.accountStore.update(account.id, {
      given_name: 'Camille',
      family_name: 'ROUSSEAU',
      birthdate: '1999-12-31',
      gender: 'unspecified',
      birthplace: '69381',
      birthcountry: '99100',
    });
    await db()
      .insertInto('franceconnect_links')
      .values({ account_id: account.id, sub: OLD_SUB, linked_at: new Date(), last_login_at: new Date() })
      .execute();

    const { browser, page } = await franceConnectLogin(glc, 'genre_indefini');
    expect(page.html).toContain('Première connexion avec FranceConnect'); // no automatic relink
    expect((await linkOf(account.id))!.sub).toBe(OLD_SUB);
    const done = await browser.follow(
      await browser.submit(page, /\/franceconnect\/associer$/, { email: 'camille@example.org', password: STRONG_PASSWORD }),
      isAccountAreaCallback,
    );
    expect(done.location).toContain('/compte/callback');
    const newSub = (await linkOf(account.id))!.sub;
    expect(newSub).not.toBe(OLD_SUB);
    expect((await eventsOf(account.id)).find((e) => e.type === 'franceconnect_linked')).toEqual({
      type: 'franceconnect_linked',
      detail: { method: 'password_relink', oldSubHash: sha256(OLD_SUB), newSubHash: sha256(newSub) },
    });
  });

  it('lets a resident whose values changed too ask the help desk from the choice page; the help desk names the account', async () => {
    const { browser, page } = await franceConnectLogin(glc, 'outre_mer_polynesie');
    await browser.follow(await browser.submit(page, /\/franceconnect\/creer$/), isAccountAreaCallback);
    const [account] = await accountsNamed('TEMAURI');
    const newSub = (await linkOf(account!.id))!.sub;
    // Before the civil-status change: another sub and another birth name.
    const OLDER_SUB = `${'cd'.repeat(32)}v1`;
    await db().updateTable('franceconnect_links').set({ sub: OLDER_SUB }).where('account_id', '=', account!.id).execute();
    await db()
      .updateTable('franceconnect_certified_fields')
      .set({ value: 'TEMAURI-AVANT' })
      .where('account_id', '=', account!.id)
      .where('field', '=', 'family_name')
      .execute();
    await db().updateTable('accounts').set({ family_name: 'TEMAURI-AVANT' }).where('id', '=', account!.id).execute();

    const again = await franceConnectLogin(glc, 'outre_mer_polynesie');
    expect(again.page.html).toContain('Première connexion avec FranceConnect'); // nothing matches any more
    const asked = await again.browser.submit(again.page, /\/franceconnect\/assistance$/);
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('ne créez pas de nouveau compte');
    const reference = /data-testid="recovery-reference">(FC-[0-9A-Z]{4}-[0-9A-Z]{4})</.exec(asked.html)?.[1];
    expect(reference).toBeDefined();
    expect(logEntries('franceconnect_recovery_requested').at(-1)).toMatchObject({ reference, match: 'none' });
    expect((await linkOf(account!.id))!.sub).toBe(OLDER_SUB);

    expect((await helpDesk('show', reference!)).json).toMatchObject({ reference, accountId: null });
    expect((await helpDesk('relink', reference!)).code).toBe(1); // which account: the help desk must say
    const [withPassword] = await db().selectFrom('accounts').select('id').where('email', '=', 'camille@example.org').execute();
    expect((await helpDesk('relink', reference!, withPassword!.id)).code).toBe(1); // relinks itself with its password
    expect(await helpDesk('relink', reference!, account!.id)).toEqual({ code: 0, json: { ok: true, accountId: account!.id } });
    expect((await linkOf(account!.id))!.sub).toBe(newSub);
    expect((await glc.services.accountStore.findById(account!.id))!.family_name).toBe('TEMAURI'); // certified again
    expect((await eventsOf(account!.id)).at(-1)).toEqual({
      type: 'franceconnect_linked',
      detail: { method: 'help_desk', reference, oldSubHash: sha256(OLDER_SUB), newSubHash: sha256(newSub) },
    });
    expect(
      await db()
        .selectFrom('franceconnect_recovery_requests')
        .select(['identity', 'account_id'])
        .where('reference', '=', reference!)
        .executeTakeFirst(),
    ).toEqual({ identity: null, account_id: account!.id }); // closed, the identity it carried forgotten
    expect((await franceConnectLogin(glc, 'outre_mer_polynesie')).page.location).toContain('/compte/callback');
  });
});

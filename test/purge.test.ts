// Inactivity: warnings at the right days and once only, activity cancels, deletion at term,
// concurrent runs, a crash mid-batch, and the `glc purge-inactive` command. The clock moves by
// passing `now` (the service) or `--now` (the CLI): nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runCli } from '../src/cli/main.js';
import { withAdvisoryLock } from '../src/jobs/scheduler.js';
import { PURGE_LOCK_ID } from '../src/deletion/service.js';
import { startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;
const saved = { ...process.env };
const DAY = 86_400_000;
const T0 = Date.now();
// Each scenario lives in its own era, far from the others and from the real clock.
const at = (era: number, days: number, hours = 0) => new Date(T0 + era * 10_000 * DAY + days * DAY + hours * 3600_000);

let startedAt = 0;
beforeAll(async () => {
  glc = await startTestGlc();
  startedAt = Date.now();
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: glc.database.env.DATA_DIR,
    DATABASE_URL: glc.database.env.DATABASE_URL,
  });
});
afterAll(async () => {
  process.env = saved;
  await glc?.close();
});

let n = 0;
async function resident(lastActivity: Date, options: { email?: boolean; services?: string[] } = {}) {
  const email = options.email === false ? null : `inactif${++n}@example.fr`;
  const account = await glc.services.accountStore.create(
    { email, passwordHash: null, emailVerifiedAt: email ? lastActivity : null },
    lastActivity,
  );
  for (const clientId of options.services ?? [])
    await glc.services.deletion.recordSubject(account.id, clientId, `sub-${clientId}-${account.id}`, lastActivity);
  return account;
}
const exists = async (id: string) => Boolean(await glc.services.accountStore.findById(id));
const mailsTo = (email: string | null) => glc.mails().filter((m) => m.to === email);
const purge = (now: Date, options?: { batchSize?: number; workers?: number }) => glc.services.deletion.runPurge(now, options);
/** The app's own daily purge runs once a second after start-up: let that run be over (it holds the lock). */
async function appRunOver(): Promise<void> {
  const wait = startedAt + 1500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await glc.services.db.connection().execute(async (c) => {
    await sql`select pg_advisory_lock(${PURGE_LOCK_ID})`.execute(c);
    await sql`select pg_advisory_unlock(${PURGE_LOCK_ID})`.execute(c);
  });
}
/** Accounts of earlier scenarios are deleted before a new era starts. */
const sweep = (era: number) => purge(at(era, -1));

describe('warnings and deletion at term', () => {
  it('warns 30 and 7 days before, once each, then deletes at term; activity cancels; no email: deleted without warning', async () => {
    await sweep(1);
    const start = at(1, 0);
    const warned = await resident(start, { services: ['svc-commune'] });
    const active = await resident(start);
    const noEmail = await resident(start, { email: false, services: ['svc-commune'] });

    expect((await purge(at(1, 699))).warned).toEqual({ 7: 0, 30: 0 });

    const first = await purge(at(1, 700, 1));
    expect(first.warned).toEqual({ 7: 0, 30: 2 });
    expect(first.cannotBeWarned).toBe(1);
    const mail = mailsTo(warned.email)[0]!;
    expect(mail.subject).toMatch(/^Votre compte GrandLyon Connect sera supprimé le \d{1,2} \S+ \d{4}$/);
    const term = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' }).format(at(1, 730));
    expect(mail.subject).toContain(term);
    expect(mail.text).toContain('il suffit de vous connecter une seule fois');
    expect(mail.text).toContain(`${glc.config.issuer}/compte`);

    // Never twice.
    expect((await purge(at(1, 701))).warned).toEqual({ 7: 0, 30: 0 });
    expect(mailsTo(warned.email)).toHaveLength(1);

    // The resident of `active` logs in on day 705: a new period of inactivity starts.
    await glc.services.accountStore.touchActivity(active.id, at(1, 705));

    const second = await purge(at(1, 723, 1));
    expect(second.warned).toEqual({ 7: 1, 30: 0 });
    expect(second.staleWarningsRemoved).toBe(1); // the warning of the finished period of `active`
    expect(mailsTo(warned.email)).toHaveLength(2);
    expect(mailsTo(active.email)).toHaveLength(1);
    expect((await purge(at(1, 724))).warned).toEqual({ 7: 0, 30: 0 });

    // One hour before term nothing is deleted; at term the inactive accounts go, the used one stays.
    expect((await purge(at(1, 729, 23))).deleted).toBe(0);
    const final = await purge(at(1, 730, 1));
    expect(final.deleted).toBe(2);
    expect(await exists(warned.id)).toBe(false);
    expect(await exists(noEmail.id)).toBe(false);
    expect(await exists(active.id)).toBe(true);
    expect(mailsTo(warned.email)[0]!.subject).toBe('Votre compte GrandLyon Connect a été supprimé');
    expect(mailsTo(warned.email)[0]!.text).toContain('n’avait pas été utilisé depuis deux ans');

    const records = await glc.services.db
      .selectFrom('deleted_accounts')
      .select(['client_id', 'sub', 'reason', 'deleted_at'])
      .where('client_id', '=', 'svc-commune')
      .orderBy('sub')
      .execute();
    expect(records).toEqual(
      [
        { client_id: 'svc-commune', sub: `sub-svc-commune-${warned.id}`, reason: 'inactivity', deleted_at: at(1, 730, 1) },
        { client_id: 'svc-commune', sub: `sub-svc-commune-${noEmail.id}`, reason: 'inactivity', deleted_at: at(1, 730, 1) },
      ].sort((a, b) => a.sub.localeCompare(b.sub)),
    );

    // `active` is warned again for its new period only: 30 days before its new term (day 705 + 700).
    expect((await purge(at(1, 1404))).warned).toEqual({ 7: 0, 30: 0 });
    expect((await purge(at(1, 1405, 1))).warned).toEqual({ 7: 0, 30: 1 });
  });

  it('an account entering the last stage unwarned gets one warning, not two', async () => {
    await sweep(2);
    const a = await resident(at(2, 0));
    expect((await purge(at(2, 725))).warned).toEqual({ 7: 1, 30: 0 });
    expect(mailsTo(a.email)).toHaveLength(1);
    expect((await purge(at(2, 726))).warned).toEqual({ 7: 0, 30: 0 });
  });

  it('never deletes an account used after the run started', async () => {
    await sweep(3);
    const accounts = await Promise.all(Array.from({ length: 6 }, () => resident(at(3, 0))));
    let used: string | undefined;
    // Between the first and the second batch (as the first batch's notices go out), the resident
    // of a remaining account logs in, outside the purge's transaction as a real login would.
    const mailer = glc.services.mailer;
    const send = mailer.send.bind(mailer);
    mailer.send = async (to, template, vars) => {
      if (!used && template === 'account-deleted') {
        for (const a of accounts) if (!used && (await exists(a.id))) used = a.id;
        await glc.services.accountStore.touchActivity(used!, at(3, 800));
      }
      return send(to, template, vars);
    };
    const report = await purge(at(3, 731), { batchSize: 3, workers: 1 });
    mailer.send = send;
    expect(report.deleted).toBe(5);
    expect(report.skipped).toBe(1);
    expect(await exists(used!)).toBe(true);
  });
});

describe('robustness', () => {
  it('two runs started at once delete each account once', async () => {
    await sweep(4);
    const accounts = await Promise.all(Array.from({ length: 120 }, () => resident(at(4, 0), { services: ['svc-concurrent'] })));
    const [a, b] = await Promise.all([purge(at(4, 731), { batchSize: 10 }), purge(at(4, 731), { batchSize: 10 })]);
    expect(a.deleted + b.deleted).toBe(120);
    expect(a.deleted).toBeGreaterThan(0);
    expect(b.deleted).toBeGreaterThan(0);
    const records = await glc.services.db.selectFrom('deleted_accounts').select('sub').where('client_id', '=', 'svc-concurrent').execute();
    expect(records).toHaveLength(120);
    expect(new Set(records.map((r) => r.sub)).size).toBe(120);
    for (const account of accounts) expect(mailsTo(account.email)).toHaveLength(1);

    // The job entry point takes the advisory lock: a second runner skips its turn.
    await appRunOver();
    const inner = await withAdvisoryLock(glc.services.db, PURGE_LOCK_ID, () => glc.services.deletion.purgeInactive(at(4, 732)));
    expect(inner).toEqual({ ran: true, value: undefined });
  });

  it('a crash mid-batch leaves no partial deletion, and the next run finishes the work', async () => {
    await sweep(5);
    const accounts = await Promise.all(Array.from({ length: 10 }, () => resident(at(5, 0), { services: ['svc-crash'] })));
    const broken = accounts[3]!;
    await glc.services.db
      .insertInto('oidc_payloads')
      .values({
        model: 'Grant',
        id: `grant-${broken.id}`,
        payload: JSON.stringify({ accountId: broken.id, clientId: 'svc-crash' }),
        grant_id: null,
        uid: null,
        user_code: null,
        expires_at: null,
        consumed_at: null,
      })
      .execute();
    await glc.services.accountStore.recordEvent(broken.id, 'login', { method: 'password' });
    // A failing statement inside the deleting transaction of that one account.
    await sql`create function glc_test_crash() returns trigger language plpgsql as $$ begin
      if old.id = ${sql.lit(broken.id)}::uuid then raise exception 'crash'; end if; return old; end $$`.execute(glc.services.db);
    await sql`create trigger glc_test_crash before delete on accounts for each row execute function glc_test_crash()`.execute(
      glc.services.db,
    );

    const first = await purge(at(5, 731), { batchSize: 5, workers: 1 });
    expect(first).toMatchObject({ deleted: 9, failed: 1 });
    // The failing account is whole: nothing of it went, no record was published.
    expect(await exists(broken.id)).toBe(true);
    expect(await glc.services.db.selectFrom('account_subjects').select('sub').where('account_id', '=', broken.id).execute()).toHaveLength(
      1,
    );
    expect(await glc.services.db.selectFrom('account_events').select('id').where('account_id', '=', broken.id).execute()).toHaveLength(1);
    expect(await glc.services.db.selectFrom('oidc_payloads').select('id').where('id', '=', `grant-${broken.id}`).execute()).toHaveLength(1);
    expect(
      await glc.services.db.selectFrom('deleted_accounts').select('id').where('sub', '=', `sub-svc-crash-${broken.id}`).execute(),
    ).toHaveLength(0);
    expect(await glc.services.db.selectFrom('deleted_accounts').select('id').where('client_id', '=', 'svc-crash').execute()).toHaveLength(
      9,
    );

    await sql`drop trigger glc_test_crash on accounts`.execute(glc.services.db);
    await sql`drop function glc_test_crash()`.execute(glc.services.db);
    const second = await purge(at(5, 731, 1));
    expect(second).toMatchObject({ deleted: 1, failed: 0 });
    expect(await exists(broken.id)).toBe(false);
    expect(await glc.services.db.selectFrom('oidc_payloads').select('id').where('id', '=', `grant-${broken.id}`).execute()).toHaveLength(0);
    expect(await glc.services.db.selectFrom('deleted_accounts').select('id').where('client_id', '=', 'svc-crash').execute()).toHaveLength(
      10,
    );
  });

  it('removes deletion records after DELETED_ACCOUNTS_RETENTION_DAYS', async () => {
    await sweep(6);
    await resident(at(6, 0), { services: ['svc-retention'] });
    await purge(at(6, 731));
    const count = async () =>
      (await glc.services.db.selectFrom('deleted_accounts').select('id').where('client_id', '=', 'svc-retention').execute()).length;
    expect(await count()).toBe(1);
    await glc.services.deletion.expireRecords(at(6, 731 + 399));
    expect(await count()).toBe(1);
    await purge(at(6, 731 + 401));
    expect(await count()).toBe(0);
  });
});

describe('cleanups of other domains, per batch', () => {
  it('pseudonymises every consent chain of a batch with its own last entry, and removes the throttling counters', async () => {
    await sweep(8);
    const start = at(8, 0);
    const { clientId: a } = await glc.services.clients.add({
      name: 'Service A',
      scope: 'openid email',
      redirectUris: ['http://127.0.0.1:9/a'],
    });
    const { clientId: b } = await glc.services.clients.add({
      name: 'Service B',
      scope: 'openid email',
      redirectUris: ['http://127.0.0.1:9/b'],
    });
    const residents = await Promise.all(Array.from({ length: 4 }, () => resident(start)));
    const consent = glc.services.consent;
    const give = (accountId: string, clientId: string) =>
      glc.services.db.transaction().execute(async (trx) => {
        await consent.store.upsert(trx, {
          accountId,
          clientId,
          claims: ['email'],
          declined: [],
          scopes: ['openid', 'email'],
          requestVersion: 1,
          purpose: null,
          method: 'web_form',
          grantedAt: start,
          updatedAt: start,
          expiresAt: at(8, 395),
        });
        await consent.store.append(trx, {
          subject: consent.subjectOf(accountId),
          accountId,
          event: 'granted',
          clientId,
          at: start,
          detail: { claims: ['email'] },
        });
      });
    const [r1, r2, r3, r4] = residents as [(typeof residents)[0], (typeof residents)[0], (typeof residents)[0], (typeof residents)[0]];
    await give(r1.id, a);
    await give(r2.id, a);
    await give(r2.id, b);
    await glc.services.db.transaction().execute(async (trx) => {
      await consent.store.end(trx, r2.id, b, 'withdrawn', at(8, 1));
      await consent.store.append(trx, {
        subject: consent.subjectOf(r2.id),
        accountId: r2.id,
        event: 'withdrawn',
        clientId: b,
        at: at(8, 1),
        detail: { claims: ['email'] },
      });
    });
    await give(r3.id, b);
    // r4 never consented: no chain is started for it.
    for (const r of residents) await glc.services.throttle.recordFailure([`password:${r.id}`, `login:email:${r.email}`], start);
    await glc.services.throttle.consume([`mail:${r1.id}`, `email-change:${r1.id}`], 5, start);
    const throttleKeys = residents
      .flatMap((r) => [`password:${r.id}`, `login:email:${r.email}`, `count:mail:${r.id}`, `count:email-change:${r.id}`])
      .map((k) => glc.services.secrets.hmac('throttle', k));
    const counters = () => glc.services.db.selectFrom('rate_limits').select('key').where('key', 'in', throttleKeys).execute();
    expect((await counters()).length).toBe(10);

    // The consent domain is called once for the whole batch, not once per account.
    const calls: number[] = [];
    const batchCleanup = consent.onAccountsDeleted;
    consent.onAccountsDeleted = async (trx, ids, now) => {
      calls.push(ids.length);
      return batchCleanup(trx, ids, now);
    };
    const now = at(8, 731);
    try {
      expect((await purge(now, { batchSize: 10, workers: 1 })).deleted).toBe(4);
    } finally {
      consent.onAccountsDeleted = batchCleanup;
    }
    expect(calls).toEqual([4]);

    const chain = (accountId: string) =>
      glc.services.db
        .selectFrom('consent_journal')
        .selectAll()
        .where('subject', '=', consent.subjectOf(accountId))
        .orderBy('seq')
        .execute();
    const c1 = await chain(r1.id);
    const c2 = await chain(r2.id);
    const c3 = await chain(r3.id);
    expect(c1.map((e) => e.event)).toEqual(['granted', 'deleted_with_account']);
    expect(c2.map((e) => e.event)).toEqual(['granted', 'granted', 'withdrawn', 'deleted_with_account']);
    expect(c3.map((e) => e.event)).toEqual(['granted', 'deleted_with_account']);
    expect(c1[1]).toMatchObject({ seq: 2, prev_hash: c1[0]!.hash, detail: { services: [a], method: 'account_deletion' } });
    expect(c2[3]).toMatchObject({ seq: 4, prev_hash: c2[2]!.hash, detail: { services: [a], method: 'account_deletion' } });
    expect(c3[1]!.detail).toEqual({ services: [b], method: 'account_deletion' });
    for (const e of [...c1, ...c2, ...c3]) {
      expect(e.account_id).toBeNull();
      expect(e.purge_after).toEqual(new Date(now.getTime() + glc.config.consentProofDays * DAY));
    }
    expect(await chain(r4.id)).toEqual([]);
    expect(
      await glc.services.db
        .selectFrom('consents')
        .select('client_id')
        .where(
          'account_id',
          'in',
          residents.map((r) => r.id),
        )
        .execute(),
    ).toEqual([]);
    expect((await consent.verifyJournal()).ok).toBe(true);
    expect(await counters()).toEqual([]);
  });
});

describe('glc purge-inactive', () => {
  async function glcCommand(...args: string[]) {
    let out = '';
    const code = await runCli(
      args,
      (t) => {
        out += t;
      },
      { services: glc.services },
    );
    return { code, out };
  }

  it('--dry-run --now counts without changing anything; then the run does it and reports', async () => {
    await sweep(7);
    const due = await resident(at(7, 0), { services: ['svc-cli'] });
    const soon = await resident(at(7, 10));
    await appRunOver();
    const dry = await glcCommand('purge-inactive', '--dry-run', '--now', at(7, 731).toISOString(), '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ ran: true, dryRun: true, deleted: 1, warned: { 30: 1, 7: 0 } });
    expect(await exists(due.id)).toBe(true);
    expect(mailsTo(soon.email)).toHaveLength(0);

    const run = await glcCommand('purge-inactive', '--now', at(7, 731).toISOString(), '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ ran: true, dryRun: false, deleted: 1, warned: { 30: 1, 7: 0 }, failed: 0 });
    expect(await exists(due.id)).toBe(false);
    expect(mailsTo(soon.email)).toHaveLength(1);

    const human = await glcCommand('purge-inactive', '--now', at(7, 732).toISOString());
    expect(human.out).toMatch(/deleted: +0/);
    expect((await glcCommand('purge-inactive', '--now', 'demain')).code).toBe(2);
  });
});

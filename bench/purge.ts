// Inactivity purge of 100,000 inactive accounts through the one deletion routine, with the
// process memory (RSS) sampled during the run. Target: ≤ 60 s on 2 cores, flat memory.
// Half of the accounts have a consent and a consent-journal chain; the journal is verified after.
//   npx tsx bench/purge.ts      (or npm run bench -- purge)
import { sql } from 'kysely';
import { createDeletionService } from '../src/deletion/service.js';
import { deleteThrottleKeysOfAccounts } from '../src/accounts/self-service.js';
import { entryHash } from '../src/consent/journal.js';
import { composeMail, type Mailer } from '../src/mail/mailer.js';
import { mib, startBenchGlc, type BenchGlc } from './deletion-support.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const DAY = 86_400_000;

/** Inactive accounts in an era far from the real clock (the app's own daily job leaves them alone). */
export async function seed(s: BenchGlc['services'], era: number): Promise<number> {
  const t0 = performance.now();
  // Each account: an identity, a verified email for half of them, two services that know it,
  // two activity events, a consent grant and an (expired) refresh token.
  await sql`insert into accounts (id, email, email_verified_at, given_name, family_name, birthdate, created_at, updated_at, last_activity_at)
    select gen_random_uuid(),
           case when g % 2 = 0 then 'bench' || g || '-' || ${era} || '@example.fr' end,
           case when g % 2 = 0 then ${new Date(era)}::timestamptz end,
           'Prénom', 'NOM', '1980-01-01', ${new Date(era)}, ${new Date(era)}, ${new Date(era)}::timestamptz + (g % 1000) * interval '1 minute'
    from generate_series(1, ${ACCOUNTS}) g`.execute(s.db);
  await sql`insert into account_subjects (account_id, client_id, sub)
    select a.id, c.client_id, encode(sha256(convert_to(c.client_id || a.id::text, 'UTF8')), 'hex')
    from accounts a cross join (values ('glc_bench_toodego'), ('glc_bench_commune')) c(client_id)`.execute(s.db);
  await sql`insert into account_events (account_id, type, detail) select id, t, '{}' from accounts cross join (values ('login'), ('signup')) e(t)`.execute(
    s.db,
  );
  await sql`insert into oidc_payloads (model, id, payload, grant_id, expires_at)
    select 'Grant', 'g-' || a.id, jsonb_build_object('accountId', a.id::text, 'clientId', 'glc_bench_toodego'), null, now() + interval '300 days' from accounts a
    union all
    select 'RefreshToken', 'r-' || a.id, jsonb_build_object('accountId', a.id::text, 'clientId', 'glc_bench_toodego', 'grantId', 'g-' || a.id), 'g-' || a.id, now() - interval '1 day' from accounts a`.execute(
    s.db,
  );
  // Half of the residents consented to Toodego: a consent row and a one-entry journal chain
  // (valid hashes), so that the purge appends and pseudonymises for real.
  await sql`insert into clients (client_id, name, metadata) values
      ('glc_bench_toodego', 'Toodego (banc)', ${JSON.stringify({ redirect_uris: ['https://toodego.example.fr/cb'] })}::jsonb),
      ('glc_bench_commune', 'Commune (banc)', ${JSON.stringify({ redirect_uris: ['https://commune.example.fr/cb'] })}::jsonb)
    on conflict do nothing`.execute(s.db);
  const consenting = (
    await sql<{ id: string }>`select id::text from accounts where get_byte(uuid_send(id), 15) % 2 = 0`.execute(s.db)
  ).rows.map((r) => r.id);
  await sql`insert into consents (account_id, client_id, status, claims, request_version, method, granted_at, updated_at, expires_at)
    select id, 'glc_bench_toodego', 'active', '{email}', 1, 'web_form', ${new Date(era)}, ${new Date(era)}, ${new Date(era + 395 * DAY)}
    from unnest(${consenting}::uuid[]) as t(id)`.execute(s.db);
  for (let i = 0; i < consenting.length; i += 5000) {
    const entries = consenting.slice(i, i + 5000).map((id) => {
      const e = {
        subject: s.secrets.hmac('consent-pseudonym', id),
        seq: 1,
        event: 'granted',
        client_id: 'glc_bench_toodego',
        detail: { claims: ['email'], method: 'web_form' },
        at: new Date(era),
        prev_hash: null,
      };
      return { ...e, id, hash: entryHash(e) };
    });
    await sql`insert into consent_journal (subject, account_id, seq, event, client_id, detail, at, prev_hash, hash)
      select subject, id, 1, 'granted', 'glc_bench_toodego', ${JSON.stringify(entries[0]!.detail)}::jsonb, ${new Date(era)}, null, hash
      from unnest(${entries.map((e) => e.subject)}::text[], ${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.hash)}::text[]) as t(subject, id, hash)`.execute(
      s.db,
    );
  }
  await sql`analyze`.execute(s.db);
  return performance.now() - t0;
}

async function measure(
  label: string,
  s: BenchGlc['services'],
  cleanups: 'all' | 'none',
  era: number,
): Promise<Record<string, number | string>> {
  const seedMs = await seed(s, era);
  let notices = 0;
  // Mail is rendered (GLC's work) but goes to a counting stub: the bench measures GLC, not an SMTP server.
  const mailer: Mailer = {
    send: async (to, template, vars) => {
      composeMail(to, template, vars);
      notices += 1;
    },
  };
  // The same deletion routine as the root's, with its cleanups (consent journal, throttling) or none.
  const deletion = createDeletionService({
    ...s,
    mailer,
    batchCleanups:
      cleanups === 'all'
        ? [(trx, ids, now) => s.consent.onAccountsDeleted(trx, ids, now), (trx, ids) => deleteThrottleKeysOfAccounts(s, trx, ids)]
        : [],
  });
  const samples: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  const timer = setInterval(() => samples.push(process.memoryUsage().rss), 200);
  const t0 = performance.now();
  const purgeNow = new Date(era + 731 * DAY);
  const report = await deletion.runPurge(purgeNow);
  const ms = performance.now() - t0;
  clearInterval(timer);
  samples.push(process.memoryUsage().rss);
  const count = async (q: string) => (await sql<{ n: number }>`${sql.raw(q)}`.execute(s.db)).rows[0]!.n;
  const third = Math.max(1, Math.floor(samples.length / 3));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    scenario: label,
    seconds: +(ms / 1000).toFixed(1),
    'accounts/s': Math.round(report.deleted / (ms / 1000)),
    deleted: report.deleted,
    failed: report.failed,
    'records total': await count('select count(*)::int as n from deleted_accounts'),
    'notices sent': notices,
    'accounts left': await count('select count(*)::int as n from accounts'),
    'grants+tokens left': await count(`select count(*)::int as n from oidc_payloads where model in ('Grant', 'RefreshToken')`),
    'deletion journal entries': (
      await sql<{
        n: number;
      }>`select count(*)::int as n from consent_journal where event = 'deleted_with_account' and at = ${purgeNow}`.execute(s.db)
    ).rows[0]!.n,
    'journal intact': (await s.consent.verifyJournal()).ok ? 'yes' : 'NO',
    'RSS before MiB': mib(rssBefore),
    'RSS min MiB': mib(Math.min(...samples)),
    'RSS 1st third MiB': mib(avg(samples.slice(0, third))),
    'RSS last third MiB': mib(avg(samples.slice(-third))),
    'RSS max MiB': mib(Math.max(...samples)),
    'seed s': +(seedMs / 1000).toFixed(1),
  };
}

export async function benchPurge(): Promise<Record<string, number | string>[]> {
  const glc = await startBenchGlc();
  try {
    const s = glc.services;
    const rows = [
      await measure(`purge of ${ACCOUNTS.toLocaleString('en')} accounts, all domains' cleanups`, s, 'all', Date.now() + 5_000 * DAY),
    ];
    // The deletion routine alone (no per-account cleanup registered by other domains).
    rows.push(
      await measure(`purge of ${ACCOUNTS.toLocaleString('en')} accounts, deletion routine alone`, s, 'none', Date.now() + 10_000 * DAY),
    );
    return rows;
  } finally {
    await glc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchPurge().then(
    (rows) => {
      console.table(rows);
      process.exit(0);
    },
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}

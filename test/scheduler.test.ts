// The real scheduler with every job GLC registers: each one runs (two jobs once shared one
// advisory lock, and one of them never ran), and lock keys belong to the scheduler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJobs, jobLockKey, startScheduler, type Job } from '../src/jobs/scheduler.js';
import { registerDomains } from '../src/domains.js';
import { createLogger } from '../src/log.js';
import { registerClient, startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;

beforeAll(async () => {
  glc = await startTestGlc({}, { firstJobRunAfterMs: 1500 });
}, 60_000);
afterAll(async () => {
  await glc?.close();
});

async function until(condition: () => boolean | Promise<boolean>, what: string, maxMs = 20_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`still waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('scheduler', () => {
  it('runs every registered job on its first turn, and the consent job really ends a due consent', async () => {
    // A consent that expired yesterday, written before the first turn.
    const account = await glc.services.accountStore.create({ email: 'expire@example.fr', passwordHash: null, emailVerifiedAt: new Date() });
    const client = await registerClient(glc, { redirectUris: ['http://127.0.0.1:9/expire'] });
    const yesterday = new Date(Date.now() - 86_400_000);
    await glc.services.db
      .insertInto('consents')
      .values({
        account_id: account.id,
        client_id: client.clientId,
        claims: ['email'],
        declined: [],
        scopes: ['openid', 'email'],
        request_version: 1,
        method: 'web_form',
        status: 'active',
        granted_at: new Date(Date.now() - 400 * 86_400_000),
        updated_at: yesterday,
        expires_at: yesterday,
        purpose: null,
        last_used_at: null,
        ended_at: null,
        grant_id: null,
      })
      .execute();

    const names = glc.scheduler
      .status()
      .map((j) => j.name)
      .sort();
    expect(names).toEqual([
      'admin-purge',
      'cleanup-expired',
      'consent-maintenance',
      'franceconnect-cleanup',
      'inactivity-purge',
      'purge-unverified-signups',
      'statistics-purge',
    ]);
    await until(() => glc.scheduler.status().every((j) => j.runs + j.failures > 0), 'every job ran once');
    for (const job of glc.scheduler.status()) {
      expect(job, job.name).toMatchObject({ runs: 1, failures: 0, skipped: 0 });
      expect(job.nextRunAt!.getTime(), job.name).toBeGreaterThan(Date.now());
    }
    const consent = await glc.services.db
      .selectFrom('consents')
      .select(['status'])
      .where('account_id', '=', account.id)
      .executeTakeFirstOrThrow();
    expect(consent.status).toBe('expired');
    const journal = (await glc.services.consent.exportFor(account.id)).journal;
    expect(journal.map((e) => e.event)).toContain('expired');
  });

  it('derives distinct lock keys from job names, and refuses two jobs of one name', async () => {
    const { jobs } = await registerDomains(glc.services);
    const keys = new Set(jobs.map((j) => jobLockKey(j.name)));
    expect(keys.size).toBe(jobs.length);
    for (const key of keys) expect(Number.isSafeInteger(key)).toBe(true);

    const twin: Job = { ...jobs[0]!, run: async () => undefined };
    expect(() => checkJobs([...jobs, twin])).toThrow(/two jobs are named/);
    expect(() => startScheduler(glc.services.db, createLogger('silent'), [...jobs, twin])).toThrow(/two jobs are named/);
  });

  it('runs one turn at a time, and does not queue a job again while its turn waits or runs', async () => {
    let active = 0;
    let most = 0;
    const runs = new Map<string, number>();
    const job = (name: string, everyMs: number, takesMs: number): Job => ({
      name,
      everyMs,
      run: async () => {
        runs.set(name, (runs.get(name) ?? 0) + 1);
        most = Math.max(most, ++active);
        await new Promise((r) => setTimeout(r, takesMs));
        active -= 1;
      },
    });
    // Seven jobs due together, as at a start; one of them due again long before its turn ends.
    const jobs = [...Array.from({ length: 6 }, (_, i) => job(`test-serial-${i}`, 3_600_000, 60)), job('test-serial-often', 20, 300)];
    const scheduler = startScheduler(glc.services.db, createLogger('silent'), jobs, { firstRunAfterMs: 20 });
    await until(() => jobs.every((j) => (runs.get(j.name) ?? 0) >= 1), 'every job ran');
    await scheduler.stop();
    expect(most).toBe(1);
    // Due every 20 ms for ≥ 660 ms but never queued twice: a handful of turns, not dozens.
    expect(runs.get('test-serial-often')).toBeLessThanOrEqual(3);
    for (const j of jobs.slice(0, 6)) expect(runs.get(j.name)).toBe(1);
  });

  it('with two schedulers on one database, a turn runs on one of them only', async () => {
    let runs = 0;
    const slow: Job = {
      name: 'test-once-per-turn',
      everyMs: 3_600_000,
      run: async () => {
        runs += 1;
        await new Promise((r) => setTimeout(r, 500));
      },
    };
    const a = startScheduler(glc.services.db, createLogger('silent'), [slow], { firstRunAfterMs: 50 });
    const b = startScheduler(glc.services.db, createLogger('silent'), [slow], { firstRunAfterMs: 50 });
    await until(
      () => a.status()[0]!.runs + a.status()[0]!.skipped + b.status()[0]!.runs + b.status()[0]!.skipped === 2,
      'both turns taken',
    );
    await Promise.all([a.stop(), b.stop()]);
    expect(runs).toBe(1);
    expect(a.status()[0]!.skipped + b.status()[0]!.skipped).toBe(1);
  });
});

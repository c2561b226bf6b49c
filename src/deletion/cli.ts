// `glc purge-inactive [--dry-run] [--now ISO-8601] [--json]` and `glc delete-account <id>`.
import { type Command } from 'commander';
import { UsageError, type CliHelpers } from '../cli/helpers.js';
import type { PurgeReport } from './service.js';

function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const t = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw new UsageError(`--now: an ISO 8601 date-time with a time zone is expected, e.g. 2028-06-01T03:00:00Z (got « ${value} »)`);
  return new Date(t);
}

function human(r: PurgeReport): string {
  const warned =
    Object.entries(r.warned)
      .map(([d, n]) => `${n} (J-${d})`)
      .join(', ') || '0';
  return [
    `${r.dryRun ? 'Dry run (nothing changed) at' : 'Purge at'} ${r.now}`,
    `warned:           ${warned}${r.warningsFailed ? `, ${r.warningsFailed} failed` : ''}`,
    `cannot be warned: ${r.cannotBeWarned} (no verified email)`,
    `${r.dryRun ? 'to delete:  ' : 'deleted:    '}      ${r.deleted}`,
    ...(r.dryRun
      ? []
      : [
          `skipped:          ${r.skipped} (used again since the run started, or taken by another run)`,
          `failed:           ${r.failed}`,
          `records expired:  ${r.recordsExpired}`,
        ]),
    `duration:         ${r.ms} ms`,
  ].join('\n');
}

export function registerDeletionCommands(program: Command, helpers: CliHelpers): void {
  program
    .command('purge-inactive')
    .description('warn inactive accounts and delete those at term (as the daily job does)')
    .option('--dry-run', 'count what would be done, change nothing')
    .option('--now <iso>', 'run as if it were this date-time (operators’ tests)')
    .addOption(helpers.jsonOption())
    .action(async (o: { dryRun?: boolean; now?: string }, cmd: Command) => {
      const now = parseNow(o.now);
      const report = await helpers.withServices((s) => s.deletion.purgeInactive(now, { dryRun: o.dryRun === true }));
      if (!report) {
        helpers.out(cmd)('Another purge is running (advisory lock held): nothing done.', { ran: false });
        return;
      }
      helpers.out(cmd)(human(report), { ran: true, ...report });
    });

  program
    .command('delete-account <accountId>')
    .description('delete an account at an operator’s request (data-protection request)')
    .requiredOption('--confirm', 'required: the deletion is immediate and final')
    .addOption(helpers.jsonOption())
    .action(async (accountId: string, _o, cmd: Command) => {
      const r = await helpers.withServices((s) => s.deletion.deleteAccount(accountId, 'operator', new Date()));
      helpers.out(cmd)(
        r.deleted ? `Deleted; ${r.records} service record(s) for the deleted-accounts API.` : 'No such account: nothing done.',
        r,
      );
    });
}

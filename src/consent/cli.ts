// `glc consent verify`: checks every resident's hash chain in the consent journal.
import type { Command } from 'commander';
import type { CliHelpers } from '../cli/helpers.js';

export class JournalBrokenError extends Error {}

export function registerConsentCommands(program: Command, helpers: CliHelpers): void {
  const consent = program.command('consent').description('consent records and their journal');
  consent
    .command('verify')
    .description('check every hash chain of the consent journal; non-zero exit code on a break')
    .addOption(helpers.jsonOption())
    .action(async (_o, cmd: Command) => {
      const report = await helpers.withServices((s) => s.consent.verifyJournal());
      const human = report.ok
        ? `Consent journal intact: ${report.entries} entries in ${report.chains} chains.\nHeads digest (archive it to detect later truncation): ${report.headsDigest}`
        : [
            `CONSENT JOURNAL BROKEN: ${report.breaks.length} chain(s) of ${report.chains} do not verify (${report.entries} entries read).`,
            ...report.breaks.map((b) => `- chain ${b.subject}: entry id ${b.entryId} (#${b.seq} of its chain): ${b.reason} — ${b.detail}`),
          ].join('\n');
      helpers.out(cmd)(human, report);
      if (!report.ok) throw new JournalBrokenError(`consent journal broken (${report.breaks.length} chain(s))`);
    });
}

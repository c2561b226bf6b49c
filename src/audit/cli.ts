// `glc audit verify`: checks the staff audit journal's hash chain; `glc audit purge`: retention.
import type { Command } from 'commander';
import type { CliHelpers } from '../cli/helpers.js';

export class AuditBrokenError extends Error {}

export function registerAuditCommands(program: Command, helpers: CliHelpers): void {
  const audit = program.command('audit').description('the staff audit journal');
  audit
    .command('verify')
    .description('check the hash chain of the staff audit journal; non-zero exit code on a break')
    .addOption(helpers.jsonOption())
    .action(async (_o, cmd: Command) => {
      const report = await helpers.withServices((s) => s.audit.verify());
      const human = report.ok
        ? `Audit journal intact: ${report.entries} entries.\nHead hash (archive it to detect later truncation): ${report.head ?? '-'}`
        : [
            `AUDIT JOURNAL BROKEN: ${report.breaks.length} break(s) in ${report.entries} entries.`,
            ...report.breaks.map((b) => `- entry #${b.seq}: ${b.reason}`),
          ].join('\n');
      helpers.out(cmd)(human, report);
      if (!report.ok) throw new AuditBrokenError('audit journal broken');
    });
}

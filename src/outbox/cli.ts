// `glc queue status|retry`: what waits to be sent (mail, back-channel logouts), what gave up.
import { Option, type Command } from 'commander';
import type { CliHelpers } from '../cli/helpers.js';
import { LOGOUT_QUEUE, MAIL_QUEUE, type QueueName } from './queue.js';

export function registerQueueCommands(program: Command, helpers: CliHelpers): void {
  const queue = program.command('queue').description('outgoing mail and back-channel logout deliveries');
  queue
    .command('status')
    .description('jobs per queue: waiting (with retries), in progress, failed, dead letters')
    .addOption(helpers.jsonOption())
    .action(async (_o, cmd: Command) => {
      const rows = await helpers.withServices((s) => s.outbox.status());
      helpers.out(cmd)(
        rows
          .map((r) => `${r.queue.padEnd(20)} queued ${r.queued}  active ${r.active}  failed ${r.failed}  dead letters ${r.deadLetters}`)
          .join('\n'),
        rows,
      );
    });
  queue
    .command('retry')
    .description('put the dead letters of a queue back for new tries (after fixing the cause)')
    .addOption(new Option('--queue <name>', 'which queue').choices([MAIL_QUEUE, LOGOUT_QUEUE]).makeOptionMandatory())
    .addOption(helpers.jsonOption())
    .action(async (o: { queue: QueueName }, cmd: Command) => {
      const moved = await helpers.withServices((s) => s.outbox.retryDeadLetters(o.queue));
      helpers.out(cmd)(`${moved} job(s) back in ${o.queue}.`, { queue: o.queue, retried: moved });
    });
}

// `glc franceconnect recovery show|relink <reference>`: the help desk (SAU) handles a resident
// whose FranceConnect sub changed and whose account has no password, after checking who they
// are out of band. Never on the resident's word or email alone.
import type { Command } from 'commander';
import type { CliHelpers } from '../cli/main.js';
import { createFranceConnectStore } from './store.js';
import { createRecoveryDesk } from './service.js';

export class RecoveryNotFoundError extends Error {}

export function registerFranceConnectCommands(program: Command, helpers: CliHelpers): void {
  const fc = program.command('franceconnect').description('FranceConnect federation');
  const recovery = fc.command('recovery').description('accounts whose FranceConnect identifier changed (help-desk references FC-XXXX-XXXX)');
  const desk = (s: Parameters<Parameters<CliHelpers['withServices']>[0]>[0]) => createRecoveryDesk(createFranceConnectStore(s.db), s.log);

  recovery.command('show <reference>').description('the account behind an open reference').addOption(helpers.jsonOption())
    .action(async (reference: string, _o, cmd: Command) => {
      const found = await helpers.withServices((s) => desk(s).show(reference, new Date()));
      if (!found) throw new RecoveryNotFoundError(`no open request ${reference} (unknown, already resolved or expired)`);
      helpers.out(cmd)(
        [`Reference ${found.reference}`, `Account: ${found.account_id}`, `Email: ${found.email ?? '(none)'}`,
          `Opened: ${found.created_at.toISOString()}`, `Expires: ${found.expires_at.toISOString()}`].join('\n'),
        { reference: found.reference, accountId: found.account_id, email: found.email, createdAt: found.created_at.toISOString(), expiresAt: found.expires_at.toISOString() },
      );
    });

  recovery.command('relink <reference>')
    .description('after checking the resident’s identity: link the account to its new FranceConnect identifier')
    .addOption(helpers.jsonOption())
    .action(async (reference: string, _o, cmd: Command) => {
      const result = await helpers.withServices((s) => desk(s).resolve(reference, new Date()));
      if (!result.ok) {
        throw new RecoveryNotFoundError(result.reason === 'unknown'
          ? `no open request ${reference} (unknown, already resolved or expired)`
          : `the new FranceConnect identity of ${reference} is already linked to another account: nothing changed`);
      }
      helpers.out(cmd)(`Account ${result.accountId} is linked to its new FranceConnect identifier. The resident can log in with FranceConnect.`, result);
    });
}

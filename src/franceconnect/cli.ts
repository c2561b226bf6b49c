// `glc franceconnect recovery show|relink <reference>`: the help desk (SAU) handles a resident
// whose FranceConnect sub changed and whose account has no password, after checking who they
// are out of band. Never on the resident's word or email alone.
import type { Command } from 'commander';
import type { CliHelpers } from '../cli/helpers.js';
import { createFranceConnectStore } from './store.js';
import { createRecoveryDesk, type RecoveryRefusal } from './service.js';
import type { FcIdentity } from './normalise.js';

const REFUSALS: Record<RecoveryRefusal, string> = {
  unknown: 'no open request with this reference (unknown, already resolved or expired)',
  account_required: 'this request names no account: give the account found by the help desk with --account <id>',
  account_mismatch: 'this request concerns another account',
  account_unknown: 'no such account',
  account_not_linked: 'this account is not linked to FranceConnect: the resident links it from the account area',
  account_has_password: 'this account has a password: the resident relinks it on the choice page (« J’ai déjà un compte »)',
  sub_linked_elsewhere: 'the new FranceConnect identity is already linked to another account: nothing changed',
};

export class RecoveryNotFoundError extends Error {}

export function registerFranceConnectCommands(program: Command, helpers: CliHelpers): void {
  const fc = program.command('franceconnect').description('FranceConnect federation');
  const recovery = fc
    .command('recovery')
    .description('accounts whose FranceConnect identifier changed (help-desk references FC-XXXX-XXXX)');
  const desk = (s: Parameters<Parameters<CliHelpers['withServices']>[0]>[0]) => createRecoveryDesk(createFranceConnectStore(s.db), s.log);

  recovery
    .command('show <reference>')
    .description('the account behind an open reference')
    .addOption(helpers.jsonOption())
    .action(async (reference: string, _o, cmd: Command) => {
      const found = await helpers.withServices((s) => desk(s).show(reference, new Date()));
      if (!found) throw new RecoveryNotFoundError(`no open request ${reference} (unknown, already resolved or expired)`);
      const certified = (found.identity as unknown as FcIdentity | null)?.pivot ?? null;
      helpers.out(cmd)(
        [
          `Reference ${found.reference}`,
          `Account: ${found.account_id ?? '(to be found by the help desk, then relink --account <id>)'}`,
          `Email: ${found.email ?? '(none)'}`,
          `New identity certified by FranceConnect: ${certified ? Object.values(certified).join(' | ') : '(not kept)'}`,
          `Opened: ${found.created_at.toISOString()}`,
          `Expires: ${found.expires_at.toISOString()}`,
        ].join('\n'),
        {
          reference: found.reference,
          accountId: found.account_id,
          email: found.email,
          certified,
          createdAt: found.created_at.toISOString(),
          expiresAt: found.expires_at.toISOString(),
        },
      );
    });

  recovery
    .command('relink <reference>')
    .description('after checking the resident’s identity: link the account to its new FranceConnect identifier')
    .option('--account <id>', 'the account the help desk found (requests opened from the choice page name none)')
    .addOption(helpers.jsonOption())
    .action(async (reference: string, o: { account?: string }, cmd: Command) => {
      const result = await helpers.withServices((s) => desk(s).resolve(reference, new Date(), o.account));
      if (!result.ok) throw new RecoveryNotFoundError(`${reference}: ${REFUSALS[result.reason]}`);
      helpers.out(cmd)(
        `Account ${result.accountId} is linked to its new FranceConnect identifier. The resident can log in with FranceConnect.`,
        result,
      );
    });
}

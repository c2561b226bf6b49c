// `glc staff grant|revoke|list`: the first administrator is made here; then in the console.
import type { Command } from 'commander';
import { UsageError, type CliHelpers } from '../cli/helpers.js';
import { isStaffRole } from './service.js';
import { STAFF_ROLES } from './tables.js';

function roleOf(value: string) {
  if (!isStaffRole(value)) throw new UsageError(`--role: one of ${STAFF_ROLES.join(', ')}`);
  return value;
}

export function registerStaffCommands(program: Command, helpers: CliHelpers): void {
  const staff = program.command('staff').description('back-office staff: roles assistance, dpo, admin (console at /admin)');
  staff
    .command('grant')
    .description('give a role to an existing GLC account')
    .argument('<email>')
    .requiredOption('--role <role>', STAFF_ROLES.join(' | '))
    .addOption(helpers.jsonOption())
    .action(async (email: string, o: { role: string }, cmd: Command) => {
      const role = roleOf(o.role);
      const result = await helpers.withServices((s) => s.admin.grant(email, role, 'glc staff grant'));
      if (!result.ok) throw new UsageError(`no GLC account with the address ${email} (create it at /compte first)`);
      helpers.out(cmd)(result.added ? `Role ${role} granted to ${email}.` : `${email} already holds the role ${role}.`, {
        email,
        role,
        added: result.added,
      });
    });
  staff
    .command('revoke')
    .description('take a role back (console sessions end with the last role)')
    .argument('<email>')
    .requiredOption('--role <role>', STAFF_ROLES.join(' | '))
    .addOption(helpers.jsonOption())
    .action(async (email: string, o: { role: string }, cmd: Command) => {
      const role = roleOf(o.role);
      const result = await helpers.withServices((s) => s.admin.revoke(email, role));
      if (!result.ok) throw new UsageError(`no GLC account with the address ${email}`);
      helpers.out(cmd)(result.removed ? `Role ${role} revoked from ${email}.` : `${email} did not hold the role ${role}.`, {
        email,
        role,
        removed: result.removed,
      });
    });
  staff
    .command('list')
    .description('staff members and their roles')
    .addOption(helpers.jsonOption())
    .action(async (_o, cmd: Command) => {
      const rows = await helpers.withServices((s) => s.admin.store.listStaff());
      helpers.out(cmd)(rows.length ? rows.map((r) => `${r.email ?? r.account_id}  ${r.role}`).join('\n') : 'No staff member.', rows);
    });
  staff
    .command('reset-second-factor')
    .description('forget a staff member’s TOTP (lost phone and recovery codes): enrolment again at next login')
    .argument('<email>')
    .addOption(helpers.jsonOption())
    .action(async (email: string, _o, cmd: Command) => {
      const done = await helpers.withServices(async (s) => {
        const account = await s.accountStore.findByEmail(email);
        if (!account) return false;
        await s.admin.store.resetSecondFactor(account.id);
        await s.admin.store.deleteSessionsOf(account.id);
        return true;
      });
      if (!done) throw new UsageError(`no GLC account with the address ${email}`);
      helpers.out(cmd)(`Second factor of ${email} reset.`, { email, reset: true });
    });
}

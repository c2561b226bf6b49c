// The `glc` command for Métropole operators: services (clients), keys, migrations, jobs.
// Every command accepts --json; wrong arguments print usage and exit with code 2.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Services } from '../services.js';
import { ClientInputError, detectLogoType, type ClientUpdate } from '../clients/service.js';
import { KEY_RELOAD_MS, keyLine } from '../oidc/keys.js';
import { registerDeletionCommands } from '../deletion/cli.js';
import { registerConsentCommands } from '../consent/cli.js';
import { registerFranceConnectCommands } from '../franceconnect/cli.js';
import { registerAuditCommands } from '../audit/cli.js';
import { registerStaffCommands } from '../admin/cli.js';
import { collect, jsonOption, outputTo, servicesOpener, splitList, UsageError, withDb, type CliHelpers } from './helpers.js';
import { registerQueueCommands } from '../outbox/cli.js';

function readLogo(file: string | undefined) {
  if (!file) return undefined;
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    throw new ClientInputError(`logo: cannot read ${file}`);
  }
  return { data, type: detectLogoType(data) };
}

export function buildProgram(write: (text: string) => void, running?: Services): Command {
  const withServices = servicesOpener(running);
  const program = new Command('glc')
    .description('GrandLyon Connect — outil des opérateurs')
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: (t) => process.stderr.write(t) })
    .showHelpAfterError();
  const out = outputTo(write);

  program
    .command('migrate')
    .description('apply pending database migrations')
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) => {
      const result = await withDb(migrateToLatest, running);
      const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      out(cmd)(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.', { applied });
    });

  const client = program.command('client').description('register and manage services (relying parties)');
  client
    .command('add')
    .description('register a service; prints its client_id and, once, its secret')
    .requiredOption('--name <name>', 'name shown to residents')
    .option('--organisation <name>', 'commune or organisation shown to residents')
    .option('--redirect-uri <uri>', 'redirect URI (repeatable)', collect)
    .option('--post-logout-redirect-uri <uri>', 'post-logout redirect URI (repeatable)', collect)
    .option('--backchannel-logout-uri <uri>', 'back-channel logout URI')
    .option('--scope <scopes>', 'allowed scopes', 'openid profile email')
    .addOption(
      new Option('--auth-method <method>', 'token endpoint authentication')
        .choices(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
        .default('client_secret_basic'),
    )
    .option('--jwks-uri <uri>', 'JWKS URI (private_key_jwt)')
    .addOption(new Option('--subject-type <type>', 'subject identifiers').choices(['pairwise', 'public']).default('pairwise'))
    .addOption(
      new Option('--grant-type <type>', 'grant type (repeatable)')
        .choices(['authorization_code', 'refresh_token', 'client_credentials'])
        .argParser(collect),
    )
    .addOption(new Option('--userinfo-alg <alg>', 'sign userinfo responses as a JWT').choices(['ES256', 'RS256']))
    .option('--logo <file>', 'PNG or JPEG logo shown on the login and consent pages')
    .option('--claims-required <claims>', 'claims the service needs (space separated)')
    .option('--claims-optional <claims>', 'claims the resident may refuse (space separated)')
    .option('--purpose <text>', 'why the service needs the data (French, shown on the consent page)')
    .option('--claims-in-id-token', 'also put the consented claims in the ID token (not only userinfo)')
    .option('--sector <name>', 'pairwise subjects of its own (default: shared by every service on the same host)')
    .addOption(jsonOption())
    .action(async (o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      const result = await withServices((s) =>
        s.clients.add({
          sector: o.sector as string | undefined,
          name: o.name as string,
          organisation: o.organisation as string | undefined,
          redirectUris: (o.redirectUri as string[] | undefined) ?? [],
          postLogoutRedirectUris: (o.postLogoutRedirectUri as string[] | undefined) ?? [],
          backchannelLogoutUri: o.backchannelLogoutUri as string | undefined,
          scope: o.scope as string,
          authMethod: o.authMethod as 'client_secret_basic',
          jwksUri: o.jwksUri as string | undefined,
          subjectType: o.subjectType as 'pairwise',
          grantTypes: (o.grantType as ('authorization_code' | 'refresh_token' | 'client_credentials')[] | undefined) ?? [
            'authorization_code',
          ],
          userinfoSignedAlg: o.userinfoAlg as 'ES256' | undefined,
          logo: readLogo(o.logo as string | undefined),
          claimsRequired: splitList(o.claimsRequired as string | undefined),
          claimsOptional: splitList(o.claimsOptional as string | undefined),
          purpose: o.purpose as string | undefined,
          claimsInIdToken: o.claimsInIdToken === true,
        }),
      );
      out(cmd)(
        [
          `client_id:     ${result.clientId}`,
          ...(result.clientSecret
            ? [`client_secret: ${result.clientSecret}`, '', 'Keep the secret now: it is stored encrypted and will never be shown again.']
            : []),
        ].join('\n'),
        { client_id: result.clientId, client_secret: result.clientSecret },
      );
    });

  client
    .command('update <clientId>')
    .description('change a service; a change of the data it asks for asks residents again')
    .option('--name <name>')
    .option('--organisation <name>')
    .option('--claims-required <claims>')
    .option('--claims-optional <claims>')
    .option('--purpose <text>')
    .option('--logo <file>')
    .option('--redirect-uri <uri>', 'replaces the redirect URIs (repeatable)', collect)
    .option('--post-logout-redirect-uri <uri>', 'replaces the post-logout URIs (repeatable)', collect)
    .option('--backchannel-logout-uri <uri>')
    .option('--scope <scopes>', 'replaces the allowed scopes')
    .addOption(
      new Option('--grant-type <type>', 'replaces the grant types (repeatable)')
        .choices(['authorization_code', 'refresh_token', 'client_credentials'])
        .argParser(collect),
    )
    .addOption(new Option('--userinfo-alg <alg>').choices(['ES256', 'RS256']))
    .option('--claims-in-id-token', 'also put the consented claims in the ID token')
    .option('--no-claims-in-id-token', 'consented claims from userinfo only')
    .addOption(jsonOption())
    .action(async (clientId: string, o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      await withServices((s) =>
        s.clients.update(clientId, {
          name: o.name as string | undefined,
          organisation: o.organisation as string | undefined,
          purpose: o.purpose as string | undefined,
          logo: readLogo(o.logo as string | undefined),
          claimsRequired: splitList(o.claimsRequired as string | undefined),
          claimsOptional: splitList(o.claimsOptional as string | undefined),
          redirectUris: o.redirectUri as string[] | undefined,
          postLogoutRedirectUris: o.postLogoutRedirectUri as string[] | undefined,
          backchannelLogoutUri: o.backchannelLogoutUri as string | undefined,
          scope: o.scope as string | undefined,
          grantTypes: o.grantType as ClientUpdate['grantTypes'],
          userinfoSignedAlg: o.userinfoAlg as 'ES256' | undefined,
          claimsInIdToken: typeof o.claimsInIdToken === 'boolean' ? o.claimsInIdToken : undefined,
        }),
      );
      out(cmd)(`Updated ${clientId}.`, { client_id: clientId, updated: true });
    });

  client
    .command('list')
    .description('list services')
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) => {
      const rows = await withServices((s) => s.clients.list());
      out(cmd)(
        rows.length
          ? rows.map((r) => `${r.client_id}  ${r.enabled ? 'enabled ' : 'disabled'}  ${r.name}`).join('\n')
          : 'No service registered.',
        rows,
      );
    });

  client
    .command('show <clientId>')
    .description('show one service')
    .addOption(jsonOption())
    .action(async (clientId: string, _o, cmd: Command) => {
      const c = await withServices((s) => s.clients.show(clientId));
      const m = c.metadata as Record<string, unknown>;
      out(cmd)(
        [
          `client_id:        ${c.client_id}`,
          `name:             ${c.name}${c.organisation ? ` (${c.organisation})` : ''}`,
          `enabled:          ${c.enabled}`,
          `redirect_uris:    ${(m.redirect_uris as string[]).join(' ')}`,
          `scope:            ${String(m.scope)}`,
          `auth method:      ${String(m.token_endpoint_auth_method)}`,
          `subject type:     ${String(m.subject_type)}`,
          `grant types:      ${(m.grant_types as string[]).join(' ')}`,
          `claims required:  ${c.claims_required.join(' ') || '—'}`,
          `claims optional:  ${c.claims_optional.join(' ') || '—'}`,
          `purpose:          ${c.purpose ?? '—'}`,
          `claims in ID token: ${c.claims_in_id_token ? 'yes' : 'no (userinfo only)'}`,
          `request version:  ${c.request_version}`,
        ].join('\n'),
        c,
      );
    });

  client
    .command('rotate-secret <clientId>')
    .description('issue a new secret (the old one stops working)')
    .addOption(jsonOption())
    .action(async (clientId: string, _o, cmd: Command) => {
      const secret = await withServices((s) => s.clients.rotateSecret(clientId));
      out(cmd)(`client_secret: ${secret}\n\nKeep it now: it will never be shown again.`, { client_id: clientId, client_secret: secret });
    });

  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    client
      .command(`${name} <clientId>`)
      .description(`${name} a service`)
      .addOption(jsonOption())
      .action(async (clientId: string, _o, cmd: Command) => {
        await withServices((s) => s.clients.setEnabled(clientId, enabled));
        out(cmd)(`${clientId} ${enabled ? 'enabled' : 'disabled'}.`, { client_id: clientId, enabled });
      });
  }

  const keys = program.command('keys').description('signing keys');
  keys
    .command('list')
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) => {
      const rows = await withServices((s) => s.keys.list(true));
      out(cmd)(rows.map(keyLine).join('\n'), rows);
    });
  keys
    .command('rotate')
    .description('add new keys: published at once, signing after every instance has reloaded; old keys keep verifying')
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) => {
      const { kids, activatesAt } = await withServices((s) => s.keys.rotate());
      out(cmd)(
        `New keys (state next): ${kids.join(', ')}. Published by every instance within ${KEY_RELOAD_MS / 1000} s; they sign from ${activatesAt.toISOString()}.`,
        { added: kids, activates_at: activatesAt },
      );
    });
  keys
    .command('retire')
    .description('stop publishing previous keys once the tokens they signed have expired')
    .option('--kid <kid>', 'one key only')
    .addOption(jsonOption())
    .action(async (o: { kid?: string }, cmd: Command) => {
      const kids = await withServices((s) => s.keys.retire(o.kid));
      out(cmd)(kids.length ? `Retired: ${kids.join(', ')}` : 'Nothing to retire.', { retired: kids });
    });

  const helpers: CliHelpers = { withServices, out, jsonOption };
  registerDeletionCommands(program, helpers);
  registerConsentCommands(program, helpers);
  registerFranceConnectCommands(program, helpers);
  registerAuditCommands(program, helpers);
  registerStaffCommands(program, helpers);
  registerQueueCommands(program, helpers);
  return program;
}

export async function runCli(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
  options: { services?: Services } = {},
): Promise<number> {
  const program = buildProgram(write, options.services);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration invalide — ${err.variable} : ${err.expected}\n`);
      return 1;
    }
    if (err instanceof ClientInputError || err instanceof UsageError) {
      process.stderr.write(`glc: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`glc: ${(err as Error).message}\n`);
    return 1;
  }
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('/cli/main.ts') ||
  process.argv[1]?.endsWith('/cli/main.js')
) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}

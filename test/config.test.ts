// Settings are checked once at start: a bad value stops the process with one line naming it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const PROD = {
  NODE_ENV: 'production',
  ISSUER: 'https://connect.example.fr',
  DATABASE_URL: 'postgres://u@db/glc',
  SECRETS_KEY: 'a'.repeat(64),
  SMTP_URL: 'smtp://mail.example.fr',
  FC_ISSUER: 'https://oidc.franceconnect.gouv.fr/api/v2',
  FC_CLIENT_ID: 'id',
  FC_CLIENT_SECRET: 'secret',
  SUPPORT_EMAIL: 'assistance@example.fr',
};

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has working defaults for a newcomer', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.issuer).toBe('http://localhost:3000');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe('./data');
    expect(c.inactivity).toEqual({ deleteAfterDays: 730, warnDays: [30, 7], deletedAccountsRetentionDays: 400 });
    expect(c.franceConnect.scopes).toBe('openid identite_pivot email preferred_username');
  });

  it('accepts a complete production configuration', () => {
    expect(loadConfig(PROD).production).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ISSUER: 'ftp://x.fr' }, 'ISSUER'],
    [{ ISSUER: 'http://x.fr/' }, 'ISSUER'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SECRETS_KEY: 'short' }, 'SECRETS_KEY'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ FC_ISSUER: 'https://fc.example.fr/api/v2' }, 'FC_CLIENT_ID'],
    [{ FC_ID_TOKEN_ALG: 'HS256' }, 'FC_ID_TOKEN_ALG'],
    [{ INACTIVITY_WARN_DAYS: '30;7' }, 'INACTIVITY_WARN_DAYS'],
    [{ CONSENT_TTL_DAYS: '-1' }, 'CONSENT_TTL_DAYS'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(failure(env).variable).toBe(variable);
  });

  it.each(['ISSUER', 'DATABASE_URL', 'SECRETS_KEY', 'SMTP_URL', 'FC_ISSUER', 'SUPPORT_EMAIL'])('requires %s in production', (variable) => {
    const env: Record<string, string> = { ...PROD };
    delete env[variable];
    expect(failure(env).variable).toBe(variable);
  });

  it('requires an https issuer in production', () => {
    expect(failure({ ...PROD, ISSUER: 'http://connect.example.fr' }).variable).toBe('ISSUER');
  });

  it('stops the real process with exit code 1 and one line naming the variable, without a stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', ISSUER: 'https://connect.example.fr' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.includes('oidc-provider WARNING'));
    expect(lines).toEqual([
      'Configuration invalide — DATABASE_URL : required in production (the embedded database is for development only)',
    ]);
  });
});

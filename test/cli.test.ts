// The glc command, run in-process against the test database as an operator would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;
const saved = { ...process.env };

async function glcCommand(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(
    args,
    (t) => {
      out += t;
    },
    { services: glc.services },
  );
  return { code, out };
}

beforeAll(async () => {
  glc = await startTestGlc();
  // The CLI reads the same settings as the server.
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: glc.database.env.DATA_DIR,
    DATABASE_URL: glc.database.env.DATABASE_URL,
  });
});
afterAll(async () => {
  process.env = saved;
  await glc?.close();
});

describe('glc client', () => {
  it('adds a client, shows its secret once, stores it encrypted, and lists it', async () => {
    const added = await glcCommand(
      'client',
      'add',
      '--name',
      'Villeurbanne',
      '--organisation',
      'Ville de Villeurbanne',
      '--redirect-uri',
      'https://www.villeurbanne.fr/cb',
      '--scope',
      'openid profile email',
      '--auth-method',
      'client_secret_post',
      '--claims-optional',
      'email',
      '--purpose',
      'Vos démarches en ligne',
      '--json',
    );
    expect(added.code).toBe(0);
    const { client_id, client_secret } = JSON.parse(added.out) as { client_id: string; client_secret: string };
    expect(client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const row = await glc.services.clientStore.find(client_id);
    expect(row!.secret_encrypted).not.toContain(client_secret);
    expect(glc.services.secrets.decrypt(row!.secret_encrypted!)).toBe(client_secret);

    const shown = await glcCommand('client', 'show', client_id, '--json');
    expect(shown.out).not.toContain(client_secret);
    expect(JSON.parse(shown.out)).toMatchObject({
      client_id,
      name: 'Villeurbanne',
      claims_optional: ['email'],
      purpose: 'Vos démarches en ligne',
      has_secret: true,
    });
    expect((await glcCommand('client', 'list')).out).toContain(client_id);

    const rotated = JSON.parse((await glcCommand('client', 'rotate-secret', client_id, '--json')).out) as { client_secret: string };
    expect(rotated.client_secret).not.toBe(client_secret);
    expect((await glcCommand('client', 'disable', client_id)).code).toBe(0);
    expect((await glc.services.clientStore.find(client_id))!.enabled).toBe(false);
  });

  it.each([
    [['client', 'add', '--redirect-uri', 'https://x.fr/cb']],
    [['client', 'add', '--name', 'X', '--redirect-uri', 'not a url']],
    [['client', 'add', '--name', 'X', '--redirect-uri', 'http://x.fr/cb', '--scope', 'openid telepathy']],
    [['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.fr/cb', '--auth-method', 'magic']],
    [['client', 'nonsense']],
    [['client', 'show', 'glc_unknown']],
  ])('exits with code 2 on wrong arguments: %j', async (args) => {
    expect((await glcCommand(...args)).code).toBe(2);
  });
});

describe('glc keys', () => {
  it('rotates in stages: the new keys are published at once as next, sign after the activation delay; the old ones stay published until they may retire', async () => {
    const { KEY_ACTIVATION_DELAY_MS, KEY_RETIRE_AFTER_MS } = await import('../src/oidc/keys.js');
    const { reloadProviderIfKeysChanged } = await import('../src/services.js');
    const jwks = async () =>
      ((await (await fetch(`${glc.config.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const before = await jwks();
    const rotated = JSON.parse((await glcCommand('keys', 'rotate', '--json')).out) as { added: string[]; activates_at: string };
    expect(rotated.added).toHaveLength(2);
    const activatesAt = new Date(rotated.activates_at);

    expect(await reloadProviderIfKeysChanged(glc.services)).toBe(true);
    const published = await jwks();
    expect(published.slice(0, 2)).toEqual(before); // the signing keys stay first
    expect(published.slice(2).sort()).toEqual([...rotated.added].sort()); // published
    expect((await glcCommand('keys', 'list')).out).toMatch(new RegExp(`${rotated.added[0]}\\s+\\S+\\s+next`));

    expect(await reloadProviderIfKeysChanged(glc.services, activatesAt)).toBe(true);
    const after = await jwks();
    expect(after.slice(0, 2).sort()).toEqual([...rotated.added].sort()); // current first: they sign
    expect(after).toEqual(expect.arrayContaining(before));

    // Too early to retire the old keys (tokens they signed are still valid).
    expect(JSON.parse((await glcCommand('keys', 'retire', '--json')).out)).toEqual({ retired: [] });
    expect((await glcCommand('keys', 'retire', '--kid', before[0]!)).code).toBe(1);
    const later = new Date(activatesAt.getTime() + KEY_RETIRE_AFTER_MS);
    expect((await glc.services.keys.retire(undefined, later)).sort()).toEqual([...before].sort());
    await reloadProviderIfKeysChanged(glc.services, later);
    expect((await jwks()).sort()).toEqual([...rotated.added].sort());
    expect((await glcCommand('keys', 'retire', '--kid', rotated.added[0]!)).code).toBe(1);
    expect(KEY_ACTIVATION_DELAY_MS).toBeGreaterThan(0);
  });
});

describe('glc client update', () => {
  it('lets a commune login client also poll the deleted-accounts API, and refuses incoherent changes', async () => {
    const { client_id } = JSON.parse(
      (await glcCommand('client', 'add', '--name', 'Vénissieux', '--redirect-uri', 'https://www.venissieux.fr/cb', '--json')).out,
    ) as { client_id: string };
    const updated = await glcCommand(
      'client',
      'update',
      client_id,
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'client_credentials',
      '--scope',
      'openid profile email deleted_accounts:read',
    );
    expect(updated.code).toBe(0);
    const shown = JSON.parse((await glcCommand('client', 'show', client_id, '--json')).out) as {
      metadata: { grant_types: string[]; scope: string; redirect_uris: string[] };
      request_version: number;
    };
    expect(shown.metadata.grant_types).toEqual(['authorization_code', 'client_credentials']);
    expect(shown.metadata.scope).toContain('deleted_accounts:read');
    expect(shown.metadata.redirect_uris).toEqual(['https://www.venissieux.fr/cb']);
    expect(shown.request_version).toBe(1); // no change of the data asked: residents are not asked again

    // deleted_accounts:read without client_credentials, or a claim outside the scopes: refused, nothing changed.
    expect((await glcCommand('client', 'update', client_id, '--grant-type', 'authorization_code')).code).toBe(2);
    expect((await glcCommand('client', 'update', client_id, '--scope', 'openid', '--claims-required', 'email')).code).toBe(2);
    const after = JSON.parse((await glcCommand('client', 'show', client_id, '--json')).out) as { metadata: { grant_types: string[] } };
    expect(after.metadata.grant_types).toEqual(['authorization_code', 'client_credentials']);

    expect((await glcCommand('client', 'update', client_id, '--purpose', 'Vos démarches')).code).toBe(0);
    expect((JSON.parse((await glcCommand('client', 'show', client_id, '--json')).out) as { request_version: number }).request_version).toBe(
      2,
    );
  });
});

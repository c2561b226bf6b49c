// Two GLC instances on one PostgreSQL database, with the same SECRETS_KEY and ISSUER, as behind
// a load balancer: any step of a resident's authorization may land on either instance, and a
// service's registration changed through one instance (or straight in the database, as the glc
// CLI does from another process) applies at once on the other despite its in-memory cache.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startGlc, type RunningGlc } from '../src/server.js';
import { hashPassword } from '../src/accounts/passwords.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, STRONG_PASSWORD } from './support/glc.js';
import { atOnce, rawServicePost } from './support/at-once.js';
import { Browser, type Page } from './support/browser.js';
import { codeChallenge, randomUrlSafe } from '../bench/pkce.js';

describe('two instances behind one issuer', () => {
  let database: TestDatabase;
  let a: RunningGlc;
  let b: RunningGlc;
  let issuer: string;
  const redirectUri = 'http://127.0.0.1:9/callback';

  /** The address of the same path on a given instance (the load balancer's choice). */
  const on = (instance: RunningGlc, url: string) => {
    const u = new URL(url, issuer);
    return `http://127.0.0.1:${(instance.server.address() as { port: number }).port}${u.pathname}${u.search}`;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`; // the load balancer's address: neither instance listens there
    const env = { NODE_ENV: 'test', ISSUER: issuer, LOG_LEVEL: 'silent', SECRETS_KEY: randomBytes(32).toString('hex'), ...database.env };
    a = await startGlc({ ...env, PORT: '0' }, { listen: false });
    b = await startGlc({ ...env, PORT: '0' }, { listen: false });
    for (const glc of [a, b]) await new Promise<void>((resolve) => glc.server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  /** A request to the token endpoint of one instance, the service authenticated by its secret. */
  const tokenRequestOn = (instance: RunningGlc, service: { clientId: string; clientSecret: string | null }, form: string) =>
    fetch(on(instance, '/token'), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${service.clientId}:${service.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form,
    });

  /** A resident signs in through both instances in turn (A, B, A, B…) up to the service's code. */
  async function codeThroughBothInstances(email: string) {
    const { clientId, clientSecret } = await a.services.clients.add({
      name: 'Service',
      organisation: 'Métropole',
      scope: 'openid email',
      redirectUris: [redirectUri],
    });
    await a.services.accountStore.create({ email, passwordHash: await hashPassword(STRONG_PASSWORD), emailVerifiedAt: new Date() });
    const browser = new Browser(issuer);
    const verifier = randomUrlSafe();
    const authorize = `${issuer}/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid email', state: 's', nonce: 'n', code_challenge: codeChallenge(verifier), code_challenge_method: 'S256' })}`;

    const instances = [a, b];
    let turn = 0;
    const next = () => instances[turn++ % 2]!;
    const served: number[] = [];
    let page: Page = await browser.get(on(next(), authorize));
    const follow = async () => {
      while (page.location && !page.location.startsWith(redirectUri)) {
        const instance = next();
        served.push(instances.indexOf(instance));
        page = await browser.get(on(instance, page.location));
      }
    };
    await follow();
    expect(page.html).toMatch(/action="[^"]*\/login"/);
    const loginAction = /action="([^"]*\/login)"/.exec(page.html)![1]!;
    page = await browser.submit(
      { ...page, url: on(next(), page.url) },
      new RegExp(`${loginAction.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
      { email, password: STRONG_PASSWORD },
    );
    await follow();
    if (!page.location?.startsWith(redirectUri)) {
      page = await browser.submit({ ...page, url: on(next(), page.url) }, /\/consent$/);
      await follow();
    }
    expect(served).toContain(0);
    expect(served).toContain(1);
    const code = new URL(page.location!).searchParams.get('code');
    expect(code).toBeTruthy();
    /** The code's redemption, sent to a given instance. */
    const redeem = (instance: RunningGlc) =>
      tokenRequestOn(
        instance,
        { clientId, clientSecret },
        new URLSearchParams({
          grant_type: 'authorization_code',
          code: code!,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }).toString(),
      );
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }).toString();
    /** The same redemption as raw HTTP, for requests sent at the same instant. */
    const redemption = rawServicePost('/token', { clientId, clientSecret }, form);
    return { redeem, next, redemption };
  }

  it('each instance builds a service’s client once per registration version, and follows a change made on the other', async () => {
    // oidc-provider finds the client it built by hashing the metadata's JSON at each lookup; GLC
    // keeps it beside the clients store's cached metadata (oidc/provider.ts, reuseBuiltClients).
    const { clientId } = await a.services.clients.add({
      name: 'Service',
      organisation: 'Métropole',
      scope: 'openid',
      redirectUris: [redirectUri],
    });
    const provider = b.services.provider;
    // The registration's own notification reaches B a few milliseconds later and empties its cache.
    await provider.Client.find(clientId);
    await new Promise((r) => setTimeout(r, 300));
    const metadataReads = vi.spyOn(b.services.clientStore, 'findProviderMetadata');
    const first = await provider.Client.find(clientId);
    for (let i = 0; i < 10; i++) expect(await provider.Client.find(clientId)).toBe(first);
    expect(metadataReads.mock.calls.length).toBeLessThanOrEqual(2); // 11 without the reuse
    metadataReads.mockRestore();

    await a.services.clients.update(clientId, { name: 'Service renommé', redirectUris: ['https://renomme.example/cb'] });
    await expect.poll(async () => (await provider.Client.find(clientId))?.clientName, { timeout: 5_000 }).toBe('Service renommé');
    expect((await provider.Client.find(clientId))?.redirectUris).toEqual(['https://renomme.example/cb']);
    await a.services.clients.setEnabled(clientId, false);
    await expect.poll(() => provider.Client.find(clientId), { timeout: 5_000 }).toBeUndefined();
    await a.services.clients.setEnabled(clientId, true);
    await expect.poll(async () => (await provider.Client.find(clientId))?.clientId, { timeout: 5_000 }).toBe(clientId);
    expect(await provider.Client.find('inconnu')).toBeUndefined();
  });
  it('finishes on one instance an authorization begun on the other', async () => {
    const { redeem, next } = await codeThroughBothInstances('deux@example.fr');
    // The code is redeemed on the instance that did not issue it last.
    const token = await redeem(next());
    expect(token.status).toBe(200);
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    for (const instance of [a, b]) {
      const me = await fetch(on(instance, '/me'), { headers: { authorization: `Bearer ${accessToken}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { email: string }).email).toBe('deux@example.fr');
    }
  });

  it('redeems a code once when both instances receive its redemption at the same instant', async () => {
    // Every request reads the code before any consumes it: the conditional update decides.
    const { redemption } = await codeThroughBothInstances('course@example.fr');
    const port = (instance: RunningGlc) => (instance.server.address() as { port: number }).port;
    const answers = await atOnce([a, b, a, b, a, b].map((instance) => ({ port: port(instance), request: redemption })));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(5);
  });

  it('saves the same rows from both instances at once, in opposite orders, without a deadlock', async () => {
    // Each instance sends the saves of one turn as one statement: two such statements taking the
    // same rows in opposite orders would wait for each other until PostgreSQL aborts one.
    type Adapter = {
      upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<void>;
      find(id: string): Promise<Record<string, unknown> | undefined>;
    };
    const adapterOf = (glc: RunningGlc) => (glc.services.provider.Interaction as unknown as { adapter: Adapter }).adapter;
    const ids = Array.from({ length: 12 }, (_, i) => `croise-${i}`);
    for (let round = 0; round < 15; round++) {
      const results = await Promise.allSettled([
        ...ids.map((id) => adapterOf(a).upsert(id, { uid: id, kind: 'Interaction', by: 'a', round }, 600)),
        ...[...ids].reverse().map((id) => adapterOf(b).upsert(id, { uid: id, kind: 'Interaction', by: 'b', round }, 600)),
      ]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failed.map((r) => String(r.reason))).toEqual([]);
    }
    for (const id of ids) expect((await adapterOf(b).find(id))?.round).toBe(14);
  });

  it('applies on every instance at once a change made on one, or in the database by another process', async () => {
    const { clientId, clientSecret } = await a.services.clients.add({
      name: 'Commune',
      grantTypes: ['client_credentials'],
      scope: 'deleted_accounts:read',
      redirectUris: [],
    });
    const tokenOn = (instance: RunningGlc) =>
      tokenRequestOn(instance, { clientId, clientSecret }, 'grant_type=client_credentials&scope=deleted_accounts%3Aread').then(
        (r) => r.status,
      );
    /** The notification travels through PostgreSQL: wait for it, bounded. */
    const eventually = async (instance: RunningGlc, status: number) => {
      for (let i = 0; i < 100 && (await tokenOn(instance)) !== status; i++) await new Promise((r) => setTimeout(r, 20));
      return tokenOn(instance);
    };
    // B has the registration in memory.
    expect(await tokenOn(b)).toBe(200);
    expect(await tokenOn(b)).toBe(200);

    await a.services.clients.setEnabled(clientId, false);
    expect(await eventually(b, 401)).toBe(401);

    // Straight in the database from another connection (as the glc CLI or an operator would).
    const other = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('update clients set enabled = true where client_id = $1', [clientId]);
      expect(await eventually(b, 200)).toBe(200);
      expect(await eventually(a, 200)).toBe(200);
      await other.query('update clients set enabled = false where client_id = $1', [clientId]);
      expect(await eventually(a, 401)).toBe(401);
      expect(await eventually(b, 401)).toBe(401);
    } finally {
      await other.end();
    }
  });
});

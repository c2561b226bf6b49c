// Bytes PostgreSQL refuses (NUL) and other control characters: a 400 with a French page for a
// resident or an OAuth error for a service, never a 500. And /readyz checks the schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { sql } from 'kysely';
import { Browser } from './support/browser.js';
import { authorizationRequest, registerClient, startTestGlc, type TestClient, type TestGlc } from './support/glc.js';
import { createResident, residentBrowser } from './accounts-support.js';

let glc: TestGlc;
let client: TestClient;
const logLines: string[] = [];

beforeAll(async () => {
  glc = await startTestGlc({ LOG_LEVEL: 'info' }, { logDestination: { write: (line) => void logLines.push(line) } });
  client = await registerClient(glc);
}, 60_000);
afterAll(async () => {
  await glc?.close();
});

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('control characters', () => {
  it('in the login form: 400 with the French page, nothing reaches the database', async () => {
    const browser = new Browser(glc.config.issuer);
    const pending = await authorizationRequest(client);
    const login = await browser.follow(await browser.get(pending.url.href));
    for (const email of ['a\u0000@example.fr', 'a\u001b[31m@example.fr']) {
      const answer = await browser.submit(login, /\/login$/, { email, password: 'x\u0000y' });
      expect(answer.status).toBe(400);
      expect(answer.html).toContain('Demande incorrecte');
      expect(answer.html).toContain('lang="fr"');
    }
  });

  it('in the identity sheet (address_street): 400, the sheet is unchanged', async () => {
    const account = await createResident(glc, 'nul@example.fr');
    const { browser } = await residentBrowser(glc, 'nul@example.fr', '/compte/identite');
    const page = await browser.get('/compte/identite');
    const answer = await browser.submit(page, /identite$/, { address_street: '1 rue\u0000 de la République' });
    expect(answer.status).toBe(400);
    expect((await glc.services.accountStore.findById(account.id))!.address_street ?? null).toBeNull();
  });

  it.each([
    ['/auth?client_id=%00'],
    ['/auth?client_id=abc%00def&response_type=code&scope=openid'],
    ['/interaction/%00'],
    ['/interaction/abc%00/login'],
    ['/services/%00/logo'],
    ['/compte?x=%07'],
  ])('in the URL %s: 400, never 500', async (path) => {
    const res = await fetch(new URL(path, glc.url), { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('lang="fr"');
    expect(html).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  });

  it('in a real client_id at /auth with a valid request otherwise: the OAuth error page, 400', async () => {
    const pending = await authorizationRequest(client);
    pending.url.searchParams.set('client_id', `${client.clientId}\u0000`);
    const res = await fetch(pending.url, { redirect: 'manual' });
    expect(res.status).toBe(400);
  });

  it('in the token endpoint body and in Basic credentials: an OAuth error, never 500', async () => {
    const form = (fields: Record<string, string>) => new URLSearchParams(fields);
    const post = (body: URLSearchParams, headers: Record<string, string> = {}) =>
      fetch(new URL('/token', glc.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
        body,
      });

    const inBody = await post(
      form({
        grant_type: 'authorization_code',
        code: 'a\u0000b',
        redirect_uri: client.redirectUri,
        code_verifier: 'x'.repeat(43),
        client_id: client.clientId,
        client_secret: client.clientSecret!,
      }),
      {},
    );
    expect(inBody.status).toBeLessThan(500);
    expect(((await inBody.json()) as { error: string }).error).toMatch(/^invalid_/);

    const badClient = await post(form({ grant_type: 'client_credentials' }), { authorization: basic('x\u0000', 'secret') });
    expect([400, 401]).toContain(badClient.status);
    expect(((await badClient.json()) as { error: string }).error).toMatch(/^invalid_(client|request)$/);

    const refresh = await post(form({ grant_type: 'refresh_token', refresh_token: '\u0000' }), {
      authorization: basic(client.clientId, client.clientSecret!),
    });
    expect(refresh.status).toBeLessThan(500);
  });

  it('in introspection, revocation and userinfo: an OAuth error, never 500', async () => {
    const auth = {
      authorization: basic(client.clientId, client.clientSecret!),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    for (const path of ['/token/introspection', '/token/revocation']) {
      const res = await fetch(new URL(path, glc.url), { method: 'POST', headers: auth, body: new URLSearchParams({ token: 'a\u0000b' }) });
      expect(res.status).toBeLessThan(500);
    }
    const me = await fetch(new URL('/me', glc.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: '\u0000' }),
    });
    expect(me.status).toBeLessThan(500);
  });
});

/** Bytes written as they are on one connection, and the whole answer Node's server gives. */
function rawExchange(url: string, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
  });
}

// Requests Node's HTTP parser refuses before GLC sees them (request line or headers over 16 KiB,
// bytes that are not HTTP). Node's own answer has no body: a service could not read the error.
describe('requests refused by the HTTP parser', () => {
  it('a query string too long for an API: 431 with an OAuth error in JSON', async () => {
    const url = new URL('/api/v1/deleted-accounts', glc.url);
    url.searchParams.set('limit', 'x'.repeat(20_000));
    const res = await fetch(url, { headers: { authorization: 'Bearer glc-secret-de-test' } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('trop') });
  });

  it('an authorization link too long in a browser: 431 with a French page', async () => {
    const url = new URL('/auth', glc.url);
    url.searchParams.set('client_id', client.clientId);
    url.searchParams.set('state', 'é'.repeat(4_000));
    const res = await fetch(url, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('lang="fr"');
    expect(html).toContain('Adresse trop longue');
  });

  it('bytes that are not HTTP: 400 with a JSON error, one log line without the bytes', async () => {
    const before = logLines.length;
    const answer = await rawExchange(glc.url, 'BONJOUR /secret-dans-la-ligne HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers).toMatch(/connection: close/i);
    expect(JSON.parse(answer.body)).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    const logged = logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual([
      expect.objectContaining({ msg: 'request refused by the HTTP parser', status: 400, error: 'HPE_INVALID_METHOD' }),
    ]);
    expect(logLines.slice(before).join('')).not.toContain('secret-dans-la-ligne');
  });

  it('a header too large: 431, and the server keeps answering', async () => {
    const res = await fetch(new URL('/.well-known/openid-configuration', glc.url), { headers: { 'x-filler': 'y'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    expect((await fetch(new URL('/.well-known/openid-configuration', glc.url))).status).toBe(200);
  });
});

describe('/readyz', () => {
  it('answers 503 when the schema is behind the code or missing, 200 when it is up to date', async () => {
    const ready = () =>
      fetch(new URL('/readyz', glc.url)).then(async (r) => ({ status: r.status, body: (await r.json()) as { database: string } }));
    expect((await ready()).status).toBe(200);

    const db = glc.services.db;
    const last = await sql<{
      name: string;
      timestamp: string;
    }>`select name, timestamp from kysely_migration order by name desc limit 1`.execute(db);
    await sql`delete from kysely_migration where name = ${last.rows[0]!.name}`.execute(db);
    expect(await ready()).toEqual({ status: 503, body: expect.objectContaining({ database: 'schema behind' }) });
    await sql`insert into kysely_migration (name, timestamp) values (${last.rows[0]!.name}, ${last.rows[0]!.timestamp})`.execute(db);
    expect((await ready()).status).toBe(200);

    await sql`drop table kysely_migration`.execute(db);
    expect(await ready()).toEqual({ status: 503, body: expect.objectContaining({ database: 'schema missing' }) });
  });
});

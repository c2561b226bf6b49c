// The production entry point (Dockerfile CMD, `npm run build`) is the bundle of scripts/bundle.ts,
// not the TypeScript the other tests run. Built here into dist/bundle-test and started as the image
// starts it, on PostgreSQL: a resident signs in with a password (argon2, a native package left
// outside the bundle), a commune gets a token, the lazily loaded parts (documentation, the
// FranceConnect mock's pages, the mail queue and SMTP) are found from the bundle's own folder.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleServer } from '../scripts/bundle.js';
import { accessToken, authorizeUrl, glcScenario, seedGlc, startGlcProcess, type Seeded, type Target } from '../bench/http.js';
import { randomUrlSafe } from '../bench/pkce.js';
import { Browser } from './support/browser.js';
import { eventually } from './support/glc.js';
import { startSmtp, type ReceivedMail, type TestSmtp } from './support/smtp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/bundle-test');
let built: Awaited<ReturnType<typeof bundleServer>>;
let seed: Seeded;
let glc: Target;
// Mail as a mail server receives it: pg-boss's queue and nodemailer are loaded at the first mail.
const received: ReceivedMail[] = [];
let smtp: TestSmtp | undefined;

beforeAll(async () => {
  built = await bundleServer(outdir);
  seed = await seedGlc(1);
  smtp = await startSmtp(received);
  glc = await startGlcProcess(seed, 1, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }, [], { entry: path.join(outdir, 'main.js') });
}, 120_000);

afterAll(async () => {
  await glc?.stop();
  await smtp?.close();
  await seed?.drop();
  rmSync(outdir, { recursive: true, force: true });
});

/**
 * The node_modules packages a start loads: those reached by static imports from the entry and
 * from the server (which main.ts imports dynamically, so that a cluster's primary does not load it).
 */
function packagesLoadedAtStart(): Set<string> {
  const outputs = built.metafile.outputs;
  const roots = Object.keys(outputs).filter((o) => ['src/main.ts', 'src/server.ts'].includes(outputs[o]!.entryPoint ?? ''));
  expect(roots).toHaveLength(2);
  const seen = new Set<string>();
  const visit = (output: string) => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const i of outputs[output]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  roots.forEach(visit);
  const packages = new Set<string>();
  for (const output of seen) {
    for (const input of Object.keys(outputs[output]!.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m) packages.add(m[1]!);
    }
  }
  return packages;
}

describe('the production bundle', () => {
  it('keeps what a sign-in never needs out of the start, and what it needs in', () => {
    const atStart = packagesLoadedAtStart();
    for (const lazy of ['marked', 'pg-boss', 'nodemailer', 'qrcode']) expect(atStart, lazy).not.toContain(lazy);
    for (const needed of ['oidc-provider', 'kysely', 'koa', 'pg']) expect(atStart, needed).toContain(needed);
  });

  it('signs a resident in with a password, answers userinfo, and gives a commune a token', async () => {
    const token = await accessToken(glc, seed.accounts[0]!);
    const me = await fetch(`${glc.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { sub?: string }).sub).toBeTruthy();

    // The bench's client-credentials request: the commune's client, its scope.
    const request = await glcScenario('cc', glc, seed, 1);
    if (request.kind !== 'http') throw new Error('cc is an HTTP scenario');
    const cc = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    expect(cc.status).toBe(200);
    expect(((await cc.json()) as { access_token?: string }).access_token).toBeTruthy();
  });

  it('finds its pages, documents and fixtures from the bundle’s folder', async () => {
    const doc = await fetch(`${glc.issuer}/docs/consentement`);
    expect(doc.status).toBe(200);
    expect(await doc.text()).toContain('Consentement par service');

    // The FranceConnect mock (development): its identities (fixtures/) and its own pages (views/).
    const browser = new Browser(glc.issuer);
    const login = await browser.follow(await browser.get(authorizeUrl(glc, randomUrlSafe())));
    expect(login.status).toBe(200);
    const mock = await browser.follow(await browser.submit(login, /\/franceconnect$/));
    expect(mock.status).toBe(200);
    expect(mock.html).toContain('Connexion avec une identité de test');
  });

  it('sends a forgotten-password link by mail, through the queue', async () => {
    const email = seed.accounts[0]!.email;
    const browser = new Browser(glc.issuer);
    const form = await browser.get('/mot-de-passe-oublie');
    expect(form.status).toBe(200);
    const sent = await browser.submit(form, /\/mot-de-passe-oublie$/, { email });
    expect(sent.status).toBe(200);
    await eventually(() => received.some((m) => m.to.includes(email)));
    expect(received.find((m) => m.to.includes(email))!.raw).toContain('/mot-de-passe-oublie/nouveau?jeton=');
  });
});

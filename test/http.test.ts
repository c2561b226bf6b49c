// HTTP behaviour shared by every page: security headers, French error pages, CSRF, health.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Browser } from './support/browser.js';
import { authorizationRequest, registerClient, startTestGlc, type TestGlc } from './support/glc.js';
import { deleteExpiredPayloads } from '../src/oidc/adapter.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc();
});
afterAll(async () => {
  await glc?.close();
});

describe('pages and errors', () => {
  it('sends security headers on pages', async () => {
    const res = await fetch(`${glc.config.issuer}/aide`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('content-security-policy')).toContain("script-src 'none'");
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown page with a French 404 page, and JSON to an API client', async () => {
    const page = await fetch(`${glc.config.issuer}/page-inconnue`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Page introuvable');
    const api = await fetch(`${glc.config.issuer}/api/v1/inconnu`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a form without its CSRF token with a French page', async () => {
    const client = await registerClient(glc);
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get((await authorizationRequest(client)).url.href));
    const uid = /\/interaction\/([^/"]+)\/login/.exec(login.html)![1];
    const res = await browser.post(`/interaction/${uid}/login`, { email: 'x@example.fr', password: 'y' });
    expect(res.status).toBe(403);
    expect(res.html).toContain('Formulaire expiré');
  });

  it('answers an expired or unknown interaction with a French page, not a stack trace', async () => {
    const res = await new Browser(glc.config.issuer).get('/interaction/inconnue-123456');
    expect(res.status).toBe(400);
    expect(res.html).toContain('Demande de connexion expirée');
    expect(res.html).not.toMatch(/Error:|at \S+\.(js|ts):\d+/);
  });

  it('keeps the way back to a page with a very long address short enough for proxies', async () => {
    const long = `/compte?jeton=${'x'.repeat(12_000)}`;
    const res = await fetch(`${glc.url}${long}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location.length).toBeLessThan(4_096);
    expect(new URL(location, glc.url).searchParams.get('retour')).toBe('/compte');
    // An ordinary one is kept.
    const short = await fetch(`${glc.url}/compte?onglet=securite`, { redirect: 'manual' });
    expect(new URL(short.headers.get('location')!, glc.url).searchParams.get('retour')).toBe('/compte?onglet=securite');
  });

  it('reports health and readiness', async () => {
    expect((await fetch(`${glc.config.issuer}/healthz`)).status).toBe(200);
    const ready = await fetch(`${glc.config.issuer}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok' });
  });
});

describe('expired protocol rows', () => {
  it('are removed by the cleanup job, live ones are kept', async () => {
    const db = glc.services.db;
    await db
      .insertInto('oidc_payloads')
      .values([
        {
          model: 'Test',
          id: 'old',
          payload: '{}',
          grant_id: null,
          uid: null,
          user_code: null,
          expires_at: new Date('2026-01-01T00:00:00Z'),
        },
        {
          model: 'Test',
          id: 'live',
          payload: '{}',
          grant_id: null,
          uid: null,
          user_code: null,
          expires_at: new Date('2027-01-01T00:00:00Z'),
        },
      ])
      .execute();
    expect(await deleteExpiredPayloads(db, new Date('2026-06-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
    const left = await db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Test').execute();
    expect(left.map((r) => r.id)).toEqual(['live']);
    await sql`delete from oidc_payloads where model = 'Test'`.execute(db);
  });
});

describe('published documentation', () => {
  it('renders the documents once at the first visits, however many arrive together', async () => {
    // The first visits of this instance: the documents are rendered while they wait.
    const paths = ['/docs', '/docs/kit-de-raccordement', '/docs/consentement', '/docs/franceconnect', '/docs', '/docs/inconnu'];
    const answers = await Promise.all(
      paths.map(async (p) => {
        const res = await fetch(`${glc.config.issuer}${p}`);
        return { status: res.status, html: await res.text() };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 404]);
    expect(answers[0]!.html).toBe(answers[4]!.html);
    expect(answers[0]!.html).toContain('href="/docs/fiche-identite"');
    expect(answers[2]!.html).toMatch(/<h1[^>]*>[^<]*[Cc]onsentement/);
  });

  it('serves the connection kit as a French page, linked from discovery', async () => {
    const meta = (await (await fetch(`${glc.config.issuer}/.well-known/openid-configuration`)).json()) as { service_documentation: string };
    const page = await fetch(meta.service_documentation);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<h1');
    expect(html).toContain('Kit de raccordement');
    expect(html).toContain('PKCE');
    const index = await (await fetch(`${glc.config.issuer}/docs`)).text();
    expect(index).toContain('href="/docs/api-comptes-supprimes"');
    expect((await fetch(`${glc.config.issuer}/docs/exploitation`)).status).toBe(404);
  });
});

describe('privacy page', () => {
  it('states the retention periods actually configured', async () => {
    const other = await startTestGlc({ INACTIVITY_DELETE_AFTER_DAYS: '500', INACTIVITY_WARN_DAYS: '20,3', CONSENT_PROOF_DAYS: '1000' });
    try {
      const html = await (await fetch(`${other.config.issuer}/confidentialite`)).text();
      expect(html).toContain('500 jours sans utilisation');
      expect(html).toContain('20 puis 3 jours avant');
      expect(html).toContain('gardée 1000 jours');
    } finally {
      await other.close();
    }
  });
});

describe('protocol endpoints, served straight by the provider’s app', () => {
  it('cross the same edge: security headers, request id, one log line each, control characters refused', async () => {
    const lines: Record<string, unknown>[] = [];
    const own = await startTestGlc({ LOG_LEVEL: 'info' }, { logDestination: { write: (line) => void lines.push(JSON.parse(line)) } });
    try {
      const base = own.config.issuer;
      const answers = {
        discovery: await fetch(`${base}/.well-known/openid-configuration`),
        token: await fetch(`${base}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        }),
        userinfo: await fetch(`${base}/me`),
        unknown: await fetch(`${base}/token/inconnu`, { headers: { accept: 'text/html' } }),
        control: await fetch(`${base}/token?x=%00`, { method: 'POST', headers: { accept: 'application/json' } }),
      };
      expect(answers.discovery.status).toBe(200);
      expect(answers.token.status).toBe(400);
      expect(answers.userinfo.status).toBe(401);
      expect(answers.unknown.status).toBe(404);
      expect(await answers.unknown.text()).toContain('Page introuvable');
      expect(answers.control.status).toBe(400);
      expect(await answers.control.json()).toMatchObject({ error: 'invalid_request' });
      const ids = new Set<string>();
      for (const [name, res] of Object.entries(answers)) {
        expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
        expect(res.headers.get('x-frame-options'), name).toBe('DENY');
        expect(res.headers.get('content-security-policy'), name).toContain("frame-ancestors 'none'");
        const id = res.headers.get('x-request-id');
        expect(id, name).toMatch(/^[0-9a-f-]{36}$/);
        ids.add(id!);
        // Exactly one request line per request, with its status.
        const logged = lines.filter((l) => l.msg === 'request' && l.requestId === id);
        expect(logged, name).toHaveLength(1);
        expect(logged[0]!.status, name).toBe(res.status);
      }
      expect(ids.size).toBe(Object.keys(answers).length);
    } finally {
      await own.close();
    }
  });
});

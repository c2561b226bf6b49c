// Publication of the statistics (issue 14): a day with 3 consent refusals at one service, made
// through real authorizations, and 15 at another; neither the console page (and its CSV), nor the
// commune's API, nor the open-data CSV reveals the 3, alone or by subtraction from a total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { authenticator } from 'otplib';
import { Browser } from './support/browser.js';
import { authorizationRequest, registerClient, startTestGlc, STRONG_PASSWORD, type TestClient, type TestGlc } from './support/glc.js';
import { createResident, text } from './accounts-support.js';
import { dayOf } from '../src/statistics/service.js';

let glc: TestGlc;
let piscine: TestClient;
let mediatheque: TestClient;

async function staffBrowser(email: string): Promise<Browser> {
  const browser = new Browser(glc.config.issuer);
  const login = await browser.follow(await browser.get('/admin'));
  const factor = await browser.follow(await browser.submit(login, /\/admin\/connexion$/, { email, password: STRONG_PASSWORD }));
  const secret = /id="totp-secret">([A-Z2-7]+)</.exec(factor.html)![1]!;
  await browser.submit(factor, /second-facteur$/, { code: authenticator.generate(secret) });
  return browser;
}

async function apiToken(client: TestClient, scope = 'statistics:read'): Promise<string> {
  return (await oidc.clientCredentialsGrant(client.config, { scope })).access_token;
}

/** The console CSV's lines of one indicator and period: { service: shown value }. */
function csvFigures(csv: string, key: string, period: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of csv.replace(/^\ufeff/, '').split(/\r?\n/)) {
    const cols = line.split(';').map((c) => c.replace(/^"|"$/g, ''));
    if (cols[0] === key && cols[3] === period) out[cols[2]!] = cols[4]!;
  }
  return out;
}

beforeAll(async () => {
  glc = await startTestGlc();
  const api = {
    grantTypes: ['authorization_code', 'client_credentials'] as ('authorization_code' | 'client_credentials')[],
    scope: 'openid profile email statistics:read',
  };
  piscine = await registerClient(glc, {
    name: 'Piscine',
    organisation: 'Commune de Bron',
    redirectUris: ['http://127.0.0.1:9/piscine'],
    ...api,
  });
  mediatheque = await registerClient(glc, {
    name: 'Médiathèque',
    organisation: 'Commune de Vénissieux',
    redirectUris: ['http://127.0.0.1:9/mediatheque'],
    ...api,
  });
  // 3 real refusals at the pool's consent screen.
  for (const email of ['r1@example.fr', 'r2@example.fr', 'r3@example.fr']) {
    await createResident(glc, email);
    const browser = new Browser(glc.config.issuer);
    const login = await browser.follow(await browser.get((await authorizationRequest(piscine)).url.href));
    const consent = await browser.follow(await browser.submit(login, /\/login$/, { email, password: STRONG_PASSWORD }));
    await browser.follow(await browser.submit(consent, /\/abort$/), (u) => u.href.startsWith(piscine.redirectUri));
  }
  // 15 at the library (the counting itself is tested through real flows in statistics.test.ts).
  for (let i = 0; i < 15; i++)
    await glc.services.statistics.count({ kind: 'consent', clientId: mediatheque.clientId, detail: 'refused' }, new Date());
  for (const [email, role] of [
    ['dpo@grandlyon.fr', 'dpo'],
    ['agent@grandlyon.fr', 'assistance'],
  ] as const) {
    await createResident(glc, email);
    await glc.services.admin.grant(email, role, 'test');
  }
}, 60_000);
afterAll(() => glc?.close());

describe('three refusals at one service, fifteen at another', () => {
  it('are stored exactly', async () => {
    const rows = await glc.services.statistics.rows('2000-01-01', '2100-01-01');
    const refused = rows.filter((r) => r.kind === 'consent' && r.detail === 'refused');
    expect(refused.map((r) => [r.client_id, r.count]).sort()).toEqual(
      [
        [piscine.clientId, 3],
        [mediatheque.clientId, 15],
      ].sort(),
    );
  });

  it('the console page shows « < 10 » for the pool and hides the totals a commune could subtract from', async () => {
    const browser = await staffBrowser('dpo@grandlyon.fr');
    const page = await browser.get('/admin/statistiques');
    expect(page.status).toBe(200);
    const section = /<h2 id="ind-\d+">Consentements refusés<\/h2>([\s\S]*?)<\/section>/.exec(page.html)![1]!;
    const rowsText = text(section).replace(/&lt;/g, '<');
    expect(rowsText).toMatch(/Piscine < 10 /);
    expect(rowsText).toMatch(/Médiathèque 15 /);
    expect(rowsText).toMatch(/Total < 10 /);
    // Neither the 3 nor the 18 (15 + 3) appears: the library's commune, which knows its 15, has
    // no total to subtract it from.
    expect(section).not.toMatch(/<td>(3|18)<\/td>/);
    // Charts are server-side SVG, with no script anywhere on the page.
    expect(section).toContain('<svg');
    expect(page.html).not.toMatch(/<script/i);

    const csv = (await browser.get('/admin/statistiques.csv')).html;
    // The month as GLC counts it (Europe/Paris): between 22:00 and 24:00 UTC it is already the next day there.
    const month = dayOf(new Date()).slice(0, 7);
    for (const period of [month, /(\d{4}-\d{2}-\d{2}\/\d{4}-\d{2}-\d{2})/.exec(csv)![1]!]) {
      const f = csvFigures(csv, 'consent.refused', period);
      expect(f[piscine.clientId]).toBe('< 10');
      expect(f.total).toBe('< 10');
      // No line with a single hidden figure: the total minus the others gives nothing.
      expect(Object.values(f).filter((v) => v === '< 10').length).toBeGreaterThanOrEqual(2);
      expect(Object.values(f)).not.toContain('3');
      expect(Object.values(f)).not.toContain('18');
    }
  });

  it('assistance staff get 403 on the statistics page', async () => {
    const browser = await staffBrowser('agent@grandlyon.fr');
    expect((await browser.get('/admin/statistiques')).status).toBe(403);
    expect((await browser.get('/admin/statistiques.csv')).status).toBe(403);
  });

  it('the API gives a commune its own services only, with the pool’s refusals hidden', async () => {
    const res = await fetch(`${glc.config.issuer}/api/v1/statistics`, { headers: { authorization: `Bearer ${await apiToken(piscine)}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      minimum_count: number;
      services: { client_id: string; indicators: Record<string, { last_30_days: number | null; months: Record<string, number | null> }> }[];
    };
    expect(body.minimum_count).toBe(10);
    expect(body.services.map((s) => s.client_id)).toEqual([piscine.clientId]);
    const refused = body.services[0]!.indicators['consent.refused']!;
    expect(refused.last_30_days).toBeNull();
    expect(Object.values(refused.months)).not.toContain(3);
    expect(JSON.stringify(body)).not.toContain(mediatheque.clientId);

    // The library's commune: its own figure, but no total to subtract it from.
    const other = await fetch(`${glc.config.issuer}/api/v1/statistics`, {
      headers: { authorization: `Bearer ${await apiToken(mediatheque)}` },
    });
    const otherBody = (await other.json()) as { services: { client_id: string }[] };
    expect(otherBody.services.map((s) => s.client_id)).toEqual([mediatheque.clientId]);
    expect(JSON.stringify(otherBody)).not.toContain(piscine.clientId);
  });

  it('the API refuses a missing token, and a token without the scope statistics:read', async () => {
    const none = await fetch(`${glc.config.issuer}/api/v1/statistics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('statistics:read');
    const commune = await registerClient(glc, {
      name: 'Flux',
      redirectUris: ['http://127.0.0.1:9/flux'],
      grantTypes: ['authorization_code', 'client_credentials'],
      scope: 'openid deleted_accounts:read',
    });
    const wrong = await fetch(`${glc.config.issuer}/api/v1/statistics`, {
      headers: { authorization: `Bearer ${await apiToken(commune, 'deleted_accounts:read')}` },
    });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('insufficient_scope');
  });

  it('the open-data CSV (public) shows the refusals total hidden, not 18 nor 3', async () => {
    const res = await fetch(`${glc.config.issuer}/api/v1/statistics/open-data.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const csv = await res.text();
    const refused = csv.split(/\r?\n/).filter((l) => l.startsWith('consent.refused;'));
    expect(refused.length).toBe(13); // the last 30 days and 12 months
    const current = refused.filter((l) => !l.endsWith(';0'));
    expect(current.length).toBe(2); // the last 30 days and this month
    for (const line of current) expect(line).toMatch(/;< 10$/);
    expect(csv).not.toContain(piscine.clientId);
  });
});

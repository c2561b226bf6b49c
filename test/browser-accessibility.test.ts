// Accessibility audit (RGAA 4.1 / WCAG 2.1 AA) of every page a resident can meet, in Debian's
// Chromium: axe-core on each page at desktop and phone width, plus what axe does not check —
// one h1, lang="fr", a title ending with « — GrandLyon Connect » (« Erreur : » first when a form
// comes back with errors), a skip link first in the page, a keyboard walk (every control, in
// order, visibly focused), errors tied to their fields, 44 px targets, and no horizontal
// scrolling at 375 px, at 320 px (reflow) or with enlarged text spacing. Pages are reached the
// way a resident reaches them (a real service's authorization, real forms, the FranceConnect
// mock), error states included. Every problem of a journey is listed at its end, readably.
// Screenshots of a few key pages land in A11Y_SCREENSHOT_DIR (default: the system's tmp dir).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { authorizationRequest, registerClient, startTestGlc, STRONG_PASSWORD, type TestClient, type TestGlc } from './support/glc.js';
import { createResident } from './accounts-support.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// For a wider audit by hand: A11Y_BEST_PRACTICE=1 adds axe's best-practice rules (not RGAA
// criteria); A11Y_REVIEW=1 also fails on what axe could not decide (« incomplete »: to review).
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', ...(process.env.A11Y_BEST_PRACTICE ? ['best-practice'] : [])];
const AXE_RESULTS = ['violations', ...(process.env.A11Y_REVIEW ? ['incomplete'] : [])] as const;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 740 };
const REFLOW = { width: 320, height: 256 };
const SCREENSHOTS = process.env.A11Y_SCREENSHOT_DIR ?? tmpdir();

let glc: TestGlc;
let chromium: PwBrowser;
let service: TestClient;
beforeAll(async () => {
  [glc, chromium] = await Promise.all([startTestGlc(), launchChromium()]);
  service = await registerClient(glc, {
    name: 'Médiathèque',
    organisation: 'Ville de Villeurbanne',
    scope: 'openid profile email phone',
    redirectUris: ['http://127.0.0.1:9/mediatheque/callback'],
    claimsRequired: ['given_name', 'family_name'],
    claimsOptional: ['email', 'phone_number', 'birthdate'],
    purpose: 'Gérer vos emprunts et vous prévenir quand un livre réservé est disponible.',
    logo: { data: await logoPng(), type: 'image/png' },
  });
}, 60_000);
afterAll(async () => {
  await chromium?.close();
  await glc?.close();
});

/** A real PNG, drawn by Chromium, as a commune would upload. */
async function logoPng(): Promise<Buffer> {
  const page = await chromium.newPage({ viewport: { width: 200, height: 80 } });
  await page.setContent(
    '<div id="l" style="width:120px;height:40px;background:#005a9c;color:#fff;font:bold 16px sans-serif;display:grid;place-items:center">Médiathèque</div>',
  );
  const png = await page.locator('#l').screenshot();
  await page.close();
  return png;
}

/** A browser window as a resident has it. CSP blocks inline scripts: bypassed so axe can be injected. */
async function newWindow(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.newContext({ viewport: DESKTOP, locale: 'fr-FR', bypassCSP: true });
  // The service's own site: not GLC's to audit, only to land on.
  await context.route('http://127.0.0.1:9/**', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: '<!doctype html><html lang="fr"><title>Service</title><h1>Service</h1></html>',
    }),
  );
  return { context, page: await context.newPage() };
}

/** mock: a FranceConnect mock page (its own title); formError: a form shown again with errors. */
interface Options {
  mock?: boolean;
  formError?: boolean;
  screenshot?: string;
}

/** Audits the page now shown; returns its problems, each prefixed by `name`. */
async function audit(page: Page, name: string, options: Options = {}): Promise<string[]> {
  await page.waitForLoadState('load');
  const problems: string[] = [];
  const facts = await page.evaluate(() => {
    const focusable = document.querySelector<HTMLElement>(
      'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])',
    );
    const href = focusable?.getAttribute('href') ?? '';
    return {
      lang: document.documentElement.getAttribute('lang'),
      h1: document.querySelectorAll('h1').length,
      title: document.title,
      skipLink: focusable?.tagName === 'A' && href.startsWith('#') && href.length > 1 && document.getElementById(href.slice(1)) !== null,
    };
  });
  if (facts.lang !== 'fr') problems.push(`lang="${facts.lang}" instead of "fr"`);
  if (facts.h1 !== 1) problems.push(`${facts.h1} h1 instead of exactly one`);
  if (!options.mock && !/\S — GrandLyon Connect$/.test(facts.title))
    problems.push(`title « ${facts.title} » does not end with « — GrandLyon Connect » after a page name`);
  if (options.formError) problems.push(...(await errorWiring(page)));
  // A form with errors says so in the title, the first thing a screen reader reads (RGAA 11.10).
  if (!options.mock && facts.title.replace(/\s/g, ' ').startsWith('Erreur : ') !== (options.formError === true))
    problems.push(`title « ${facts.title} » ${options.formError ? 'does not start' : 'starts'} with « Erreur : »`);
  if (!facts.skipLink) problems.push('the first focusable element is not a skip link to an existing target');

  // axe at desktop then phone width; a violation found at both is reported once.
  const widths = new Map<string, number[]>();
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    if (viewport === DESKTOP && options.screenshot)
      await page.screenshot({ path: path.join(SCREENSHOTS, `a11y-${options.screenshot}-1280.png`) });
    if (viewport === PHONE) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 0) problems.push(`scrolls ${overflow} px horizontally at ${PHONE.width} px`);
      problems.push(...(await smallTargets(page)).map((t) => `target smaller than 44 px at ${PHONE.width} px: ${t}`));
      if (options.screenshot) await page.screenshot({ path: path.join(SCREENSHOTS, `a11y-${options.screenshot}.png`), fullPage: true });
    }
    for (const v of await axe(page)) widths.set(v, [...(widths.get(v) ?? []), viewport.width]);
  }
  // WCAG 1.4.10 (reflow): 320 px wide, i.e. a 1280 px screen zoomed to 400 %.
  await page.setViewportSize(REFLOW);
  const reflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (reflow > 0) problems.push(`scrolls ${reflow} px horizontally at ${REFLOW.width} px (reflow)`);
  // WCAG 1.4.12 (text spacing): the spacing a reader may impose keeps everything on a phone screen.
  await page.setViewportSize(PHONE);
  const style = await page.addStyleTag({
    content:
      '* { line-height: 1.5 !important; letter-spacing: .12em !important; word-spacing: .16em !important; } p { margin-bottom: 2em !important; }',
  });
  const spaced = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (spaced > 0) problems.push(`scrolls ${spaced} px horizontally at ${PHONE.width} px with WCAG 1.4.12 text spacing`);
  await style.evaluate((element) => (element as Element).remove());
  await page.setViewportSize(DESKTOP);
  problems.push(...(await keyboardWalk(page)));
  for (const [v, at] of widths) problems.push(`[${at.join(' and ')} px] ${v}`);
  return problems.map((p) => `${name} (${new URL(page.url()).pathname}): ${p}`);
}

/**
 * Controls a finger must hit, less than 44 px high: buttons, fields, and links standing alone
 * (a link inside a sentence is exempt, as in WCAG 2.5.8). A checkbox or radio counts with its label.
 */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const small: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('a[href], button, input:not([type=hidden]), select, textarea')) {
      if (el.matches('.skip-link, .evitement')) continue; // off-screen until focused
      const box = el.getBoundingClientRect();
      if (!box.width || !box.height) continue;
      let height = box.height;
      const label = el.matches('input[type=checkbox], input[type=radio]') ? document.querySelector(`label[for="${el.id}"]`) : null;
      if (label) height = Math.max(height, label.getBoundingClientRect().height);
      if (el.tagName === 'A' && el.parentElement?.textContent?.trim() !== el.textContent?.trim()) continue;
      if (height < 44)
        small.push(
          `${el.tagName.toLowerCase()} « ${(el.textContent ?? '').replace(/\s+/g, ' ').trim() || el.id} » (${Math.round(height)} px)`,
        );
    }
    return small;
  });
}

/**
 * A form shown again with errors: the fields in error say so (aria-invalid) and are described by
 * their message (aria-describedby, on the field or its fieldset); every message is tied to a
 * field; the summary's links lead to existing fields.
 */
async function errorWiring(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const invalid = [...document.querySelectorAll<HTMLElement>('[aria-invalid="true"]')];
    if (!invalid.length) problems.push('errors: no field marked aria-invalid="true"');
    const described = new Set<string>();
    for (const el of invalid) {
      const ids = [el, el.closest('fieldset')].flatMap((e) => (e?.getAttribute('aria-describedby') ?? '').split(/\s+/)).filter(Boolean);
      ids.forEach((id) => described.add(id));
      const texts = ids.map((id) => document.getElementById(id)?.textContent?.trim() ?? '');
      if (ids.some((id) => !document.getElementById(id)))
        problems.push(`errors: #${el.id} is described by a missing element (${ids.join(' ')})`);
      if (!texts.some(Boolean)) problems.push(`errors: #${el.id} is invalid but no message describes it`);
    }
    for (const message of document.querySelectorAll<HTMLElement>('.error-message[id]')) {
      if (!described.has(message.id)) problems.push(`errors: message #${message.id} is not tied to its field`);
    }
    for (const link of document.querySelectorAll<HTMLAnchorElement>('#erreurs a[href^="#"]')) {
      if (!document.getElementById(link.hash.slice(1))) problems.push(`errors: summary link ${link.hash} leads nowhere`);
    }
    return problems;
  });
}

/**
 * Tabs through the whole page from its top: every control is reached, in the order of the page,
 * each with a visible focus indicator, and the skip link shows itself when it has the focus.
 */
async function keyboardWalk(page: Page): Promise<string[]> {
  const count = await page.evaluate(() => {
    const visible = (el: HTMLElement) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const radioGroups = new Set<string>();
    let n = 0;
    for (const el of document.querySelectorAll<HTMLElement>('a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')) {
      if (el.tabIndex < 0 || (el as HTMLButtonElement).disabled || !visible(el)) continue;
      if (el instanceof HTMLInputElement && el.type === 'radio') {
        // One stop per radio group: the checked radio, or the first one.
        const group = [...document.querySelectorAll<HTMLInputElement>(`input[type=radio][name="${el.name}"]`)];
        if (radioGroups.has(el.name) || el !== (group.find((r) => r.checked) ?? group[0])) continue;
        radioGroups.add(el.name);
      }
      el.dataset.tabStop = String(n++);
    }
    const start = document.createElement('span');
    start.tabIndex = -1;
    document.body.prepend(start);
    start.focus();
    return n;
  });
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      return {
        stop: el.dataset.tabStop ?? null,
        name: `${el.tagName.toLowerCase()} « ${(el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 60) || el.id} »`,
        indicator: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
        onScreen: box.top >= 0 && box.left >= 0 && box.bottom <= window.innerHeight + window.scrollY && box.right <= window.innerWidth,
      };
    });
    if (!at || at.stop !== String(i)) {
      problems.push(`keyboard: Tab stop ${i + 1} of ${count} is ${at ? at.name : 'nothing'}, not the ${i + 1}th control of the page`);
      break;
    }
    if (!at.indicator) problems.push(`keyboard: no visible focus indicator on ${at.name}`);
    if (i === 0 && !at.onScreen) problems.push(`keyboard: the skip link stays off-screen when it has the focus`);
  }
  return problems;
}

async function axe(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  type Rule = { id: string; impact: string; help: string; nodes: { target: unknown[]; failureSummary?: string }[] };
  const found = await page.evaluate(
    async ([tags, kinds]) => {
      const run = (window as unknown as { axe: { run(context: Document, options: object): Promise<Record<string, Rule[]>> } }).axe.run;
      const result = await run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: kinds });
      return kinds.flatMap((kind) =>
        result[kind]!.map((v) => ({
          kind,
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').trim() })),
        })),
      );
    },
    [AXE_TAGS, [...AXE_RESULTS]] as const,
  );
  return found.flatMap((v) =>
    v.nodes.map((n) => `${v.kind === 'incomplete' ? 'to review: ' : ''}${v.id} (${v.impact}) ${v.help} — ${n.target} — ${n.summary}`),
  );
}

/** All problems of a journey at once, one per line. */
function expectNone(problems: string[]): void {
  expect(problems.length, `\n${problems.join('\n')}\n`).toBe(0);
}

async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button, exact: true }).click()]);
}

/** FranceConnect button on GLC's login page → the mock's login page. */
async function toFranceConnect(page: Page): Promise<void> {
  await page.goto(`${glc.config.issuer}/compte/connexion`);
  await page.getByTestId('franceconnect-button').click();
  await page.waitForURL(/\/franceconnect-mock\//);
}

async function atMock(page: Page, login: string): Promise<void> {
  await page.fill('#login', login);
  await page.fill('#password', '123');
  await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/franceconnect-mock/') && !u.pathname.startsWith('/franceconnect/callback'));
}

// Whole journeys with an audit of each page: about 60 s on a slow shared 2-core machine, past
// the default limit; a limit, not a measure (nothing here is timed).
describe('accessibility of the pages a resident meets, in Chromium', { timeout: 180_000 }, () => {
  let page: Page;
  let context: BrowserContext;
  const email = 'audit@example.fr';

  it('a service’s authorization: login, sign-up, mailbox, confirmation, consent, logout', async () => {
    ({ context, page } = await newWindow());
    const problems: string[] = [];
    const pending = await authorizationRequest(service, { scope: 'openid profile email phone' });
    await page.goto(pending.url.href);
    await page.waitForURL(/\/interaction\//);
    problems.push(...(await audit(page, 'login of a service with a logo', { screenshot: 'connexion' })));

    await page.fill('#email', 'personne@example.fr');
    await page.fill('#password', 'pas le bon mot de passe');
    await submit(page, 'Se connecter');
    problems.push(...(await audit(page, 'login, wrong password', { formError: true })));

    await page.getByRole('link', { name: 'Créer un compte GrandLyon Connect' }).click();
    await page.waitForURL(/\/inscription$/);
    problems.push(...(await audit(page, 'sign-up')));
    await page.fill('#email', 'pas-une-adresse');
    await page.fill('#password', 'court');
    await submit(page, 'Créer mon compte');
    problems.push(...(await audit(page, 'sign-up with errors', { formError: true })));

    await page.fill('#email', email);
    await page.fill('#password', STRONG_PASSWORD);
    await page.fill('#passwordConfirmation', STRONG_PASSWORD);
    await submit(page, 'Créer mon compte');
    problems.push(...(await audit(page, 'check your mailbox')));

    await glc.services.accounts.settled();
    await page.goto(glc.linkInLastMail(email, /http\S+\/inscription\/confirmer\S+/));
    problems.push(...(await audit(page, 'email confirmed')));
    await page.locator('main a.button').click();
    await page.waitForURL(/\/interaction\//);
    await page.fill('#email', email);
    await page.fill('#password', STRONG_PASSWORD);
    await submit(page, 'Se connecter');
    await page.getByRole('button', { name: 'Autoriser' }).waitFor();
    problems.push(...(await audit(page, 'consent (required and optional data, logo)', { screenshot: 'consentement' })));
    await page.check('#facultatif-email');
    await page.getByRole('button', { name: 'Autoriser' }).click();
    await page.waitForURL(/127\.0\.0\.1:9\/mediatheque\/callback/);

    await page.goto(`${glc.config.issuer}/session/end?client_id=${service.clientId}`);
    problems.push(...(await audit(page, 'logout confirmation', { screenshot: 'deconnexion' })));
    await submit(page, 'Me déconnecter');
    problems.push(...(await audit(page, 'logged out')));
    expectNone(problems);
  });

  it('the account area, its forms with errors, and the forgotten password', async () => {
    const problems: string[] = [];
    await page.goto(`${glc.config.issuer}/compte`);
    await page.waitForURL(/\/interaction\//);
    problems.push(...(await audit(page, 'login to the account area')));
    await page.fill('#email', email);
    await page.fill('#password', STRONG_PASSWORD);
    await submit(page, 'Se connecter');
    await page.waitForURL(/\/compte$/);
    problems.push(...(await audit(page, 'account home')));

    for (const [p, name] of [
      ['/compte/identite', 'identity sheet'],
      ['/compte/services', 'connected services'],
      ['/compte/franceconnect', 'FranceConnect (not linked)'],
      ['/compte/securite', 'security'],
      ['/compte/mes-donnees', 'my data'],
    ] as const) {
      await page.goto(`${glc.config.issuer}${p}`);
      problems.push(...(await audit(page, name, p === '/compte/services' ? { screenshot: 'services' } : {})));
    }
    await page.goto(`${glc.config.issuer}/compte/identite`);
    await page.fill('#given_name', 'Marie Claire');
    await page.fill('#birthdate', '31');
    await page.fill('#birthdate-month', '02');
    await page.fill('#birthdate-year', '1990');
    await page.fill('#birthplace', 'Saint-Denis');
    await page.fill('#phone_number', '12');
    await submit(page, 'Enregistrer ma fiche');
    problems.push(...(await audit(page, 'identity sheet with errors', { formError: true, screenshot: 'fiche-erreurs' })));

    await page.goto(`${glc.config.issuer}/compte/services`);
    await submit(page, 'Enregistrer mes choix pour Médiathèque');
    problems.push(...(await audit(page, 'connected services, choices saved')));
    await submit(page, 'Retirer mon consentement à Médiathèque');
    problems.push(...(await audit(page, 'connected services, consent withdrawn')));

    await page.goto(`${glc.config.issuer}/compte/mot-de-passe`);
    problems.push(...(await audit(page, 'change password')));
    await page.fill('#current', 'faux');
    await submit(page, 'Enregistrer le nouveau mot de passe');
    problems.push(...(await audit(page, 'change password with errors', { formError: true })));

    await page.goto(`${glc.config.issuer}/compte/supprimer`);
    problems.push(...(await audit(page, 'delete my account')));
    await submit(page, 'Supprimer définitivement mon compte');
    problems.push(...(await audit(page, 'delete my account with errors', { formError: true })));

    await page.goto(`${glc.config.issuer}/compte/adresse-electronique`);
    problems.push(...(await audit(page, 'change email')));
    await page.fill('#email', 'pas-une-adresse');
    await submit(page, 'Envoyer le lien de confirmation');
    problems.push(...(await audit(page, 'change email with errors', { formError: true })));
    await page.fill('#email', 'audit.nouvelle@example.fr');
    await submit(page, 'Envoyer le lien de confirmation');
    problems.push(...(await audit(page, 'change email, link sent')));
    await glc.services.accounts.settled();
    await page.goto(glc.linkInLastMail('audit.nouvelle@example.fr', /http\S+\/compte\/adresse-electronique\/confirmer\S+/));
    problems.push(...(await audit(page, 'email changed')));

    await page.goto(`${glc.config.issuer}/compte`);
    await submit(page, 'Se déconnecter');
    await submit(page, 'Me déconnecter');
    await page.waitForURL(/\/compte\/au-revoir$/);
    problems.push(...(await audit(page, 'goodbye')));

    await page.goto(`${glc.config.issuer}/mot-de-passe-oublie`);
    problems.push(...(await audit(page, 'forgotten password')));
    await submit(page, 'Recevoir le lien');
    problems.push(...(await audit(page, 'forgotten password with errors', { formError: true })));
    await page.fill('#email', 'audit.nouvelle@example.fr');
    await submit(page, 'Recevoir le lien');
    problems.push(...(await audit(page, 'forgotten password, link sent')));
    await page.goto(glc.linkInLastMail('audit.nouvelle@example.fr', /http\S+\/mot-de-passe-oublie\/nouveau\S+/));
    problems.push(...(await audit(page, 'new password')));
    await page.fill('#password', 'trop court');
    await submit(page, 'Enregistrer le nouveau mot de passe');
    problems.push(...(await audit(page, 'new password with errors', { formError: true })));
    await page.fill('#password', `${STRONG_PASSWORD} bis`);
    await page.fill('#confirmation', `${STRONG_PASSWORD} bis`);
    await submit(page, 'Enregistrer le nouveau mot de passe');
    problems.push(...(await audit(page, 'password changed')));

    await page.goto(`${glc.config.issuer}/compte/compte-supprime`);
    problems.push(...(await audit(page, 'account deleted')));
    await context.close();
    expectNone(problems);
  });

  it('FranceConnect: the mock’s pages, automatic link notice, choice, errors, certified identity', async () => {
    const problems: string[] = [];
    // Angela's declared identity matches the mock's « test » identity: automatic link.
    await createResident(glc, 'angela@example.org', {
      given_name: 'Angela Claire Louise',
      family_name: 'DUBOIS',
      birthdate: '1962-08-24',
      gender: 'female',
      birthplace: '75107',
      birthcountry: '99100',
    });
    ({ context, page } = await newWindow());
    await toFranceConnect(page);
    problems.push(...(await audit(page, 'FranceConnect mock login', { mock: true })));
    await page.fill('#login', 'test');
    await page.fill('#password', 'faux');
    await submit(page, 'Se connecter');
    problems.push(...(await audit(page, 'FranceConnect mock login, wrong password', { mock: true })));
    await atMock(page, 'test');
    problems.push(...(await audit(page, 'FranceConnect linked automatically')));
    await submit(page, 'Continuer');
    await page.waitForURL(/\/compte$/);
    for (const [p, name] of [
      ['/compte/franceconnect', 'FranceConnect (linked)'],
      ['/compte/identite', 'identity sheet (certified)'],
    ] as const) {
      await page.goto(`${glc.config.issuer}${p}`);
      problems.push(...(await audit(page, name)));
    }
    const mockBase = `${glc.config.issuer}/franceconnect-mock/api/v2`;
    await page.goto(`${mockBase}/page-inexistante`);
    problems.push(...(await audit(page, 'FranceConnect mock error page', { mock: true })));
    await context.close();

    ({ context, page } = await newWindow());
    await toFranceConnect(page);
    await atMock(page, 'avec_nom_dusage');
    problems.push(...(await audit(page, 'first FranceConnect login: choice', { screenshot: 'franceconnect-choix' })));
    await page.fill('#email', 'angela@example.org');
    await page.fill('#password', 'faux mot de passe');
    await submit(page, 'Associer FranceConnect à mon compte');
    problems.push(...(await audit(page, 'first FranceConnect login: choice with error', { formError: true })));
    await submit(page, 'Demander l’aide de l’assistance');
    problems.push(...(await audit(page, 'FranceConnect: help-desk recovery', { screenshot: 'franceconnect-assistance' })));
    await context.close();

    ({ context, page } = await newWindow());
    await toFranceConnect(page);
    await page.getByRole('button', { name: 'Annuler', exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/franceconnect/callback'));
    problems.push(...(await audit(page, 'FranceConnect cancelled', { screenshot: 'franceconnect-annule' })));
    await page.goto(`${glc.config.issuer}/franceconnect/deconnexion?state=inconnu`);
    problems.push(...(await audit(page, 'logged out, FranceConnect not confirmed')));
    await context.close();
    expectNone(problems);
  });

  it('error pages and the help, accessibility and privacy pages', async () => {
    const problems: string[] = [];
    ({ context, page } = await newWindow());
    for (const [p, name] of [
      ['/page-inexistante', '404'],
      ['/interaction/inconnue', 'expired interaction'],
      [
        `/auth?client_id=inconnu&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`,
        'OIDC error, unknown service',
      ],
      ['/mot-de-passe-oublie/nouveau?jeton=perime', 'expired reset link'],
      ['/inscription/confirmer?jeton=perime', 'expired confirmation link'],
      ['/aide', 'help'],
      ['/aide/contact?ref=abc-123', 'help desk form'],
      ['/accessibilite', 'accessibility statement'],
      ['/confidentialite', 'privacy'],
      ['/demo', 'demo service'],
    ] as const) {
      await page.goto(`${glc.config.issuer}${p}`);
      problems.push(...(await audit(page, name, p === '/aide' ? { screenshot: 'aide' } : {})));
    }
    await page.goto(`${glc.config.issuer}/aide/contact`);
    await submit(page, 'Envoyer ma demande');
    problems.push(...(await audit(page, 'help desk form with errors', { formError: true })));
    await page.goto(`${glc.config.issuer}/mot-de-passe-oublie`);
    await page.evaluate(() => {
      document.querySelector<HTMLInputElement>('input[name=_csrf]')!.value = 'falsifie';
    });
    await page.fill('#email', email);
    await submit(page, 'Recevoir le lien');
    expect(await page.locator('h1').textContent()).toBe('Formulaire expiré');
    problems.push(...(await audit(page, 'CSRF refusal (403)')));
    await context.close();
    expectNone(problems);
  });
});

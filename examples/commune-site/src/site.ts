// The commune's web site: a home page with the GrandLyon Connect button, the code flow with PKCE
// (confidential client), the identity received, RP-initiated and back-channel logout, and the
// poller of the deleted-accounts API. Everything a commune needs to copy, in one readable file.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import nunjucks from 'nunjucks';
import * as oidc from 'openid-client';
import {
  glcConfiguration,
  glcKeys,
  logoutTokenVerifier,
  LogoutTokenError,
  pollDeletedAccounts,
  type GlcClient,
  type PollReport,
} from './glc.js';
import { frenchDate, identityRows } from './identity.js';
import type { ResidentStore } from './residents.js';
import { SessionStore } from './sessions.js';
import type { JWTVerifyGetKey } from 'jose';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCOPE = 'openid profile email birth identite_certifiee';
const SESSION_COOKIE = 'valfleuri_session';
const PENDING_COOKIE = 'valfleuri_connexion';
const STATIC_FILES: Record<string, string> = {
  'style.css': 'text/css; charset=utf-8',
  'logo-valfleuri.svg': 'image/svg+xml',
  'logo-valfleuri.png': 'image/png',
};

export interface CommuneSiteOptions {
  /** Public address of the site, without trailing slash: its redirect URIs derive from it. */
  siteUrl: string;
  glc: GlcClient;
  store: ResidentStore;
  /** Keys signing the cookies; several for rotation (the first signs). */
  cookieKeys: string[];
  production: boolean;
  /** The keys logout tokens are checked with: GLC's JWKS unless a test gives others. */
  logoutTokenKeys?: () => Promise<JWTVerifyGetKey>;
  log?: (message: string) => void;
}

export interface CommuneSite {
  app: Koa;
  sessions: SessionStore;
  pollDeletedAccounts(): Promise<PollReport>;
}

export function createCommuneSite(options: CommuneSiteOptions): CommuneSite {
  const { siteUrl, store } = options;
  const log = options.log ?? ((message: string) => process.stdout.write(`${message}\n`));
  const config = glcConfiguration(options.glc, { production: options.production });
  const sessions = new SessionStore();
  const verifyLogoutToken = logoutTokenVerifier({
    issuer: options.glc.issuer,
    clientId: options.glc.clientId,
    keys: options.logoutTokenKeys ?? glcKeys(config),
  });
  const redirectUri = `${siteUrl}/connexion/retour`;
  const secure = siteUrl.startsWith('https:');
  const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(ROOT, 'views')), {
    autoescape: true,
    throwOnUndefined: false,
  });
  views.addFilter('date_fr', (iso: string) => frenchDate(iso));
  const glcOrigin = new URL(options.glc.issuer).origin;

  const app = new Koa({ keys: options.cookieKeys, proxy: options.production });
  const render = (ctx: Context, template: string, values: Record<string, unknown> = {}, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = views.render(template, { glcIssuer: options.glc.issuer, showResidents: !options.production, ...values });
  };
  const currentSession = (ctx: Context) => sessions.get(ctx.cookies.get(SESSION_COOKIE, { signed: true }));
  const cookie = (ctx: Context, name: string, value: string | null, maxAge?: number) =>
    ctx.cookies.set(name, value, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', ...(maxAge && { maxAge }) });

  app.use(async (ctx, next) => {
    // The logout form redirects to GLC: form-action must allow it, browsers check every redirect.
    ctx.set(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${glcOrigin}; base-uri 'none'; frame-ancestors 'none'`,
    );
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    try {
      await next();
      if (ctx.status === 404 && !ctx.body)
        render(ctx, 'erreur.njk', { title: 'Page introuvable', message: 'Cette page n’existe pas.' }, 404);
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status && status < 500) {
        ctx.status = status;
        ctx.body = '';
        return;
      }
      // Most often GLC unreachable (discovery, token, userinfo): the resident can only wait.
      log(`erreur : ${(err as Error).message}`);
      render(
        ctx,
        'erreur.njk',
        {
          title: 'Service indisponible',
          message: 'La connexion avec GrandLyon Connect est momentanément impossible. Réessayez dans quelques minutes.',
        },
        503,
      );
    }
  });

  const router = new Router();

  router.get('/', async (ctx) => {
    const session = currentSession(ctx);
    render(ctx, 'accueil.njk', { title: 'Accueil', connected: Boolean(session), givenName: session?.claims.given_name });
  });

  router.get('/static/:file', async (ctx) => {
    const type = STATIC_FILES[ctx.params.file!];
    if (!type) return;
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = await readFile(path.join(ROOT, 'public', ctx.params.file!));
  });

  // The button's target: a fresh state, nonce and PKCE verifier, kept in a signed cookie for 10 minutes.
  router.get('/connexion-grandlyon', async (ctx) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    cookie(ctx, PENDING_COOKIE, JSON.stringify({ verifier, state, nonce }), 10 * 60_000);
    const url = oidc.buildAuthorizationUrl(await config(), {
      redirect_uri: redirectUri,
      scope: SCOPE,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    ctx.redirect(url.href);
  });

  router.get('/connexion/retour', async (ctx) => {
    let pending: { verifier: string; state: string; nonce: string } | undefined;
    try {
      pending = JSON.parse(ctx.cookies.get(PENDING_COOKIE, { signed: true }) ?? 'null') ?? undefined;
    } catch {
      pending = undefined;
    }
    cookie(ctx, PENDING_COOKIE, null);
    if (!pending) return ctx.redirect('/'); // a reload, or an old tab: start again from the home page
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(await config(), new URL(ctx.originalUrl, siteUrl), {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError && err.error === 'access_denied') {
        return render(ctx, 'erreur.njk', {
          title: 'Connexion annulée',
          message: 'Vous avez annulé la connexion : aucune donnée n’a été transmise à la commune.',
          retry: true,
        });
      }
      log(`connexion refusée : ${err instanceof oidc.AuthorizationResponseError ? err.error : (err as Error).name}`);
      return render(
        ctx,
        'erreur.njk',
        { title: 'Connexion impossible', message: 'La connexion avec GrandLyon Connect n’a pas abouti.', retry: true },
        400,
      );
    }
    const idToken = tokens.claims()!;
    // The ID token carries sub and sid; the data the resident agreed to share comes from userinfo.
    const claims = (await oidc.fetchUserInfo(await config(), tokens.access_token, idToken.sub)) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    await store.recordLogin(
      { sub: idToken.sub, givenName: str(claims.given_name), familyName: str(claims.family_name), email: str(claims.email) },
      new Date(),
    );
    const previous = currentSession(ctx);
    if (previous) sessions.end(previous.id); // a new session id at each login: no fixation
    const session = sessions.create({
      sub: idToken.sub,
      sid: typeof idToken.sid === 'string' ? idToken.sid : undefined,
      idToken: tokens.id_token!,
      claims,
    });
    cookie(ctx, SESSION_COOKIE, session.id);
    ctx.redirect('/mon-compte');
  });

  router.get('/mon-compte', async (ctx) => {
    const session = currentSession(ctx);
    if (!session) return ctx.redirect('/');
    const identity = identityRows(session.claims);
    render(ctx, 'mon-compte.njk', {
      title: 'Mon compte',
      givenName: session.claims.given_name,
      identity,
      resident: await store.find(session.sub),
    });
  });

  // RP-initiated logout. A POST: a link elsewhere cannot log the resident out (the cookie is SameSite=Lax).
  router.post('/deconnexion', async (ctx) => {
    const session = currentSession(ctx);
    cookie(ctx, SESSION_COOKIE, null);
    if (!session) return ctx.redirect('/deconnexion/fin');
    sessions.end(session.id);
    ctx.redirect(
      oidc.buildEndSessionUrl(await config(), {
        id_token_hint: session.idToken,
        post_logout_redirect_uri: `${siteUrl}/deconnexion/fin`,
        state: oidc.randomState(),
      }).href,
    );
  });

  // GLC's return (with the state sent, which only a site that keeps one needs to check): a static page, never a new login.
  router.get('/deconnexion/fin', (ctx) => {
    cookie(ctx, SESSION_COOKIE, null);
    render(ctx, 'deconnecte.njk', { title: 'Vous êtes déconnecté' });
  });

  // Back-channel logout: GLC tells the site, server to server, that a GLC session has ended.
  router.post('/deconnexion/back-channel', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const token = (await readForm(ctx)).get('logout_token');
    try {
      if (!token) throw new LogoutTokenError('logout_token missing');
      const { sid, sub } = await verifyLogoutToken(token);
      sessions.endFromGlc(sid, sub);
      ctx.status = 200;
      ctx.body = '';
    } catch (err) {
      if (!(err instanceof LogoutTokenError)) throw err;
      log(`logout_token refusé (${err.message})`);
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'invalid logout_token' };
    }
  });

  // The local table, shown outside production only: in a real site it is an agents' back office.
  if (!options.production) {
    router.get('/usagers', async (ctx) =>
      render(ctx, 'usagers.njk', { title: 'Usagers connus de la commune', residents: await store.list() }),
    );
  }

  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    sessions,
    pollDeletedAccounts: () =>
      pollDeletedAccounts({
        config,
        store,
        onDeleted: (sub) => sessions.endFromGlc(undefined, sub),
        onCursorRefused: () => log('curseur des comptes supprimés refusé par GLC : relecture depuis le plus ancien enregistrement'),
      }),
  };
}

/** A small urlencoded body (a logout token is a few kilobytes). */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) return new URLSearchParams();
  let body = '';
  for await (const chunk of ctx.req) {
    body += (chunk as Buffer).toString();
    if (body.length > 64 * 1024) ctx.throw(413);
  }
  return new URLSearchParams(body);
}

export interface RunningCommuneSite {
  url: string;
  site: CommuneSite;
  server: http.Server;
  close(): Promise<void>;
}

/** Listens, and runs the poller at once then every `pollEveryMs` (never two passes at a time). */
export async function startCommuneSite(
  options: CommuneSiteOptions & { port: number; host?: string; pollEveryMs?: number },
): Promise<RunningCommuneSite> {
  const site = createCommuneSite(options);
  const log = options.log ?? ((message: string) => process.stdout.write(`${message}\n`));
  const server = http.createServer(site.app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  let timer: NodeJS.Timeout | undefined;
  if (options.pollEveryMs) {
    let running = false;
    const poll = async () => {
      if (running) return;
      running = true;
      try {
        const report = await site.pollDeletedAccounts();
        if (report.received) log(`comptes supprimés : ${report.received} reçus, ${report.removed} usagers effacés`);
      } catch (err) {
        log(`relevé des comptes supprimés en échec (nouvel essai au prochain passage) : ${(err as Error).message}`);
      } finally {
        running = false;
      }
    };
    void poll();
    timer = setInterval(() => void poll(), options.pollEveryMs);
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    site,
    server,
    close: () => {
      clearInterval(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

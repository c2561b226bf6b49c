import type Koa from 'koa';

import { authorize, cancelLogin, showLogin, submitLogin } from './authorize.js';
import type { MockDeps } from './context.js';
import { discovery, jwks } from './discovery.js';
import { endSession } from './end-session.js';
import type { FcIdentity } from './identities.js';
import { SigningKeyRing } from './keys.js';
import { renderErrorPage } from './pages.js';
import { MockStore } from './store.js';
import { token } from './token.js';
import type { FcMockClient, FcMockFaults, FcMockOptions, FranceConnectMock } from './types.js';
import { userinfo } from './userinfo.js';
import { createViews } from './views.js';

export { isErrorIdentity, loadFixtureIdentities } from './identities.js';
export type { FcErrorIdentity, FcIdentity, FcPivotIdentity } from './identities.js';
export type { FcMockClient, FcMockFaults, FcMockOptions, FranceConnectMock } from './types.js';

interface Route {
  pattern: RegExp;
  methods: readonly string[];
  handle(ctx: Koa.Context, deps: MockDeps, id: string): void | Promise<void>;
}

/** Paths are relative to the issuer's path; `id` is the first capture group, if any. */
const ROUTES: readonly Route[] = [
  { pattern: /^\/\.well-known\/openid-configuration$/, methods: ['GET'], handle: discovery },
  { pattern: /^\/jwks$/, methods: ['GET'], handle: jwks },
  { pattern: /^\/authorize$/, methods: ['GET'], handle: authorize },
  { pattern: /^\/interaction\/([\w-]{43})$/, methods: ['GET'], handle: showLogin },
  { pattern: /^\/interaction\/([\w-]{43})\/login$/, methods: ['POST'], handle: submitLogin },
  { pattern: /^\/interaction\/([\w-]{43})\/cancel$/, methods: ['POST'], handle: cancelLogin },
  { pattern: /^\/token$/, methods: ['POST'], handle: token },
  { pattern: /^\/userinfo$/, methods: ['GET', 'POST'], handle: userinfo },
  { pattern: /^\/session\/end$/, methods: ['GET'], handle: endSession },
  { pattern: /^\/assets\/mock\.css$/, methods: ['GET'], handle: stylesheet },
];

/**
 * A local FranceConnect v2 lookalike, as strict as FranceConnect, for `npm start` and tests.
 * It keeps everything in memory and refuses to run in production.
 */
export async function createFranceConnectMock(opts: FcMockOptions): Promise<FranceConnectMock> {
  if (opts.production) throw new Error('The FranceConnect mock refuses to run in production');
  const prefix = issuerPathPrefix(opts.issuer);
  const faults: FcMockFaults = {};
  const clock = opts.now ?? (() => Date.now() / 1000);
  const deps: MockDeps = {
    issuer: opts.issuer,
    prefix,
    clients: indexClients(opts.clients),
    identities: indexIdentities(opts.identities),
    keys: await SigningKeyRing.create(opts.signingAlg ?? 'ES256'),
    store: new MockStore(),
    views: createViews(),
    faults,
    now: () => Math.floor(clock()),
  };
  let closed = false;

  const middleware: Koa.Middleware = async (ctx, next) => {
    const path = pathUnderPrefix(ctx.path, prefix);
    if (closed || path === undefined) return next();
    deps.store.sweep(deps.now());
    await dispatch(ctx, deps, path);
  };

  return {
    middleware,
    rotateSigningKey: () => deps.keys.rotate(),
    faults,
    close() {
      closed = true;
      deps.store.clear();
    },
  };
}

async function dispatch(ctx: Koa.Context, deps: MockDeps, path: string): Promise<void> {
  const matched = ROUTES.map((route) => ({ route, match: route.pattern.exec(path) })).find(({ match }) => match);
  if (!matched) return renderErrorPage(ctx, deps, 404, 'not_found');
  if (!matched.route.methods.includes(ctx.method)) {
    ctx.set('Allow', matched.route.methods.join(', '));
    return renderErrorPage(ctx, deps, 405, 'method_not_allowed');
  }
  try {
    await matched.route.handle(ctx, deps, matched.match?.[1] ?? '');
  } catch (error) {
    // The operator gets the error through Koa's usual channel; the resident a plain page.
    const status = httpStatusOf(error);
    if (status >= 500) ctx.app.emit('error', error, ctx);
    renderErrorPage(ctx, deps, status, status >= 500 ? 'server_error' : 'bad_request');
  }
}

function httpStatusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function stylesheet(ctx: Koa.Context, deps: MockDeps): void {
  ctx.type = 'text/css; charset=utf-8';
  ctx.set('Cache-Control', 'public, max-age=300');
  ctx.body = deps.views.render('styles.css.njk');
}

/** "/franceconnect-mock/api/v2" for "http://localhost:3000/franceconnect-mock/api/v2". */
function issuerPathPrefix(issuer: string): string {
  const url = new URL(issuer);
  if (!/^https?:$/.test(url.protocol) || url.search || url.hash) {
    throw new Error('FranceConnect mock: the issuer must be an http(s) URL without query or fragment');
  }
  return url.pathname.replace(/\/$/, '');
}

/** The path below the prefix ("/authorize"), or undefined when the request is not the mock's. */
function pathUnderPrefix(path: string, prefix: string): string | undefined {
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
}

function indexClients(clients: readonly FcMockClient[]): Map<string, FcMockClient> {
  const index = new Map<string, FcMockClient>();
  for (const client of clients) {
    if (index.has(client.clientId)) throw new Error(`FranceConnect mock: duplicate client ${client.clientId}`);
    for (const uri of [...client.redirectUris, ...client.postLogoutRedirectUris]) assertAbsoluteUrl(uri);
    index.set(client.clientId, client);
  }
  return index;
}

function indexIdentities(identities: readonly FcIdentity[]): Map<string, FcIdentity> {
  const index = new Map<string, FcIdentity>();
  for (const identity of identities) {
    // Error messages name no identity: logins are test data, but the habit matters.
    if (index.has(identity.login)) throw new Error('FranceConnect mock: two identities share a login');
    index.set(identity.login, identity);
  }
  return index;
}

function assertAbsoluteUrl(uri: string): void {
  if (!URL.canParse(uri)) throw new Error(`FranceConnect mock: ${uri} is not an absolute URL`);
}

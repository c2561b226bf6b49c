// /demo: a relying party inside GLC (development only) that runs the real code flow with
// openid-client, as a commune's site would, and shows what it received.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import * as oidc from 'openid-client';
import type { Context } from 'koa';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import { withLockHeld } from '../db/database.js';

interface DemoClient {
  clientId: string;
  clientSecret: string;
}
const COOKIE = 'glc.demo';
const SCOPE = 'openid profile email birth identite_certifiee';

/**
 * The demo service is registered once per data folder; its secret stays in that folder. Workers
 * starting together (GLC_WORKERS) take turns: the first registers it, the others read its file.
 */
export function ensureDemoClient(s: Services): Promise<DemoClient> {
  return withLockHeld(s.db, 'demo-client', () => registerDemoClient(s));
}

async function registerDemoClient(s: Services): Promise<DemoClient> {
  const file = path.resolve(s.config.dataDir, 'demo-client.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DemoClient;
    if (await s.clientStore.find(saved.clientId)) return saved;
  }
  const { clientId, clientSecret } = await s.clients.add({
    name: 'Service de démonstration',
    organisation: 'Métropole de Lyon',
    redirectUris: [`${s.config.issuer}/demo/callback`],
    postLogoutRedirectUris: [`${s.config.issuer}/demo`],
    scope: SCOPE,
    claimsOptional: ['birthplace', 'birthcountry', 'verified_claims'],
    purpose: 'Montrer aux développeurs des communes ce qu’un service reçoit de GrandLyon Connect.',
  });
  const demo = { clientId, clientSecret: clientSecret! };
  writeFileSync(file, JSON.stringify(demo), { mode: 0o600 });
  return demo;
}

export function demoRoutes(s: Services, demo: DemoClient): Router {
  const router = new Router({ prefix: '/demo' });
  const redirectUri = `${s.config.issuer}/demo/callback`;
  let configuration: Promise<oidc.Configuration> | undefined;
  const config = () => {
    configuration ??= oidc
      .discovery(new URL(s.config.issuer), demo.clientId, demo.clientSecret, oidc.ClientSecretBasic(demo.clientSecret), {
        execute: [oidc.allowInsecureRequests],
      })
      .catch((e: unknown) => {
        configuration = undefined;
        throw e;
      });
    return configuration;
  };
  const readCookie = (ctx: Context) => {
    try {
      return JSON.parse(ctx.cookies.get(COOKIE, { signed: true }) ?? 'null') as Record<string, string> | null;
    } catch {
      return null;
    }
  };
  const writeCookie = (ctx: Context, value: Record<string, string> | null) =>
    ctx.cookies.set(COOKIE, value ? JSON.stringify(value) : null, { signed: true, httpOnly: true, sameSite: 'lax', path: '/demo' });

  router.get('/', (ctx) => {
    const session = readCookie(ctx);
    render(ctx, 'demo/index.njk', {
      title: 'Service de démonstration',
      claims: session?.claims ? JSON.stringify(JSON.parse(session.claims), null, 2) : null,
      idTokenClaims: session?.idTokenClaims ? JSON.stringify(JSON.parse(session.idTokenClaims), null, 2) : null,
      error: ctx.query.erreur,
    });
  });

  router.get('/login', async (ctx) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    writeCookie(ctx, { verifier, state, nonce });
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

  router.get('/callback', async (ctx) => {
    const pending = readCookie(ctx);
    if (!pending?.verifier) return ctx.redirect('/demo');
    try {
      const current = new URL(ctx.originalUrl, s.config.issuer);
      const tokens = await oidc.authorizationCodeGrant(await config(), current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      const idTokenClaims = tokens.claims()!;
      const userinfo = await oidc.fetchUserInfo(await config(), tokens.access_token, idTokenClaims.sub);
      writeCookie(ctx, { claims: JSON.stringify(userinfo), idTokenClaims: JSON.stringify(idTokenClaims), idToken: tokens.id_token! });
      ctx.redirect('/demo');
    } catch (e) {
      const code = e instanceof oidc.AuthorizationResponseError ? e.error : 'echec';
      writeCookie(ctx, null);
      ctx.redirect(`/demo?erreur=${encodeURIComponent(code)}`);
    }
  });

  router.get('/logout', async (ctx) => {
    const session = readCookie(ctx);
    writeCookie(ctx, null);
    if (!session?.idToken) return ctx.redirect('/demo');
    ctx.redirect(
      oidc.buildEndSessionUrl(await config(), { id_token_hint: session.idToken, post_logout_redirect_uri: `${s.config.issuer}/demo` }).href,
    );
  });

  return router;
}

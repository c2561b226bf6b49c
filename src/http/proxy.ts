// Which address is the client's, behind the Métropole's load balancer (and any other proxy).
// Each proxy appends the address it saw to X-Forwarded-For; a client can put anything before
// that. With N trusted hops the client is the N-th entry from the right: Koa's maxIpsCount keeps
// the last N entries and ctx.ip is the first of them, so forged left-hand entries are ignored.
// The same setting goes to GLC's Koa app and to oidc-provider (itself a Koa app).
import type Koa from 'koa';

export function trustProxies(app: Koa, hops: number): void {
  app.proxy = hops > 0;
  app.maxIpsCount = hops;
}

/**
 * In production every cookie is Secure, whatever the scheme the request arrived with (a proxy
 * that forgets X-Forwarded-Proto must not make session cookies travel in clear). The cookies
 * object of a context decides the default of `secure`; forcing it also keeps cookies (the
 * library) from refusing a Secure cookie on a request it believes is plain http.
 */
export function forceSecureCookies(app: Koa): void {
  const create = app.createContext.bind(app);
  app.createContext = (req, res) => {
    const ctx = create(req, res);
    ctx.cookies.secure = true;
    return ctx;
  };
}

// Cross-cutting HTTP middleware: request id and access log, security headers, errors.
import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { render } from './views.js';

export function requestLog(log: Logger) {
  // The access line has fixed fields, none personal or secret: pino's redaction, which copies
  // every line's object to mask a few names, is left out for it (half the cost of the line).
  const access = log.child({}, { redact: [] });
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = /^[A-Za-z0-9-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId as string);
    try {
      await next();
    } finally {
      // Path only: query strings carry codes, tokens and emails.
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      access.info(
        { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    }
  };
}

function contentSecurityPolicy(formTargets: string[], scriptHashes: string[]): string {
  // No script at all, or exactly the hashed inline ones: `'none'` beside a hash is contradictory.
  const scripts = scriptHashes.length > 0 ? scriptHashes.join(' ') : "'none'";
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `script-src ${scripts}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    `form-action ${["'self'", ...formTargets].join(' ')}`,
  ].join('; ');
}

/** Hashes of inline scripts already allowed on this response (oidc-provider appends its own). */
function scriptHashesOf(ctx: Context): string[] {
  const scriptSrc = /(?:^|;)\s*script-src\s+([^;]*)/.exec(ctx.response.get('Content-Security-Policy'))?.[1] ?? '';
  return scriptSrc.split(/\s+/).filter((token) => /^'sha256-[A-Za-z0-9+/=]+'$/.test(token));
}

/**
 * A form's submission may end, after redirects, on another origin (a login form ends on the
 * service's redirect URI): browsers check form-action on every hop, so pages name those origins.
 * By default only GLC itself and FranceConnect (`alwaysAllowed`). Called with no URL, it only
 * writes the policy again, keeping the hashes of inline scripts already allowed.
 */
export function allowFormTargets(ctx: Context, urls: Iterable<string | undefined>): void {
  const origins = new Set<string>(ctx.state.formTargets as string[] | undefined);
  for (const url of urls) {
    if (!url) continue;
    try {
      origins.add(new URL(url).origin);
    } catch {
      /* not a URL: nothing to allow */
    }
  }
  ctx.state.formTargets = [...origins];
  ctx.set('Content-Security-Policy', contentSecurityPolicy([...origins], scriptHashesOf(ctx)));
}

export function securityHeaders(options: { production: boolean; alwaysAllowedFormTargets: string[] }) {
  // The default policy is the same for every request: computed once.
  const origins = [
    ...new Set(
      options.alwaysAllowedFormTargets.flatMap((u) => {
        try {
          return [new URL(u).origin];
        } catch {
          return [];
        }
      }),
    ),
  ];
  const defaultPolicy = contentSecurityPolicy(origins, []);
  // Set before the handler runs: the provider writes its responses directly.
  return async (ctx: Context, next: Next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    ctx.state.formTargets = [...origins];
    ctx.set('Content-Security-Policy', defaultPolicy);
    if (options.production) ctx.set('Strict-Transport-Security', 'max-age=63072000; includeSubDomains');
    await next();
  };
}

/** What the handler reads of any error: GLC's HttpError, Koa's ctx.throw, oidc-provider's errors. */
interface ThrownError extends Error {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  code?: string;
  error?: string;
}

/** What a resident reads for each refusal (also used for requests Node's parser refuses, parser-errors.ts). */
export const FRENCH_ERRORS: Record<number, { title: string; message: string }> = {
  400: { title: 'Demande incorrecte', message: 'La demande n’a pas pu être comprise. Revenez à la page précédente et recommencez.' },
  403: { title: 'Action refusée', message: 'Cette action n’est pas autorisée.' },
  404: { title: 'Page introuvable', message: 'Cette page n’existe pas ou a été déplacée.' },
  405: { title: 'Action non permise', message: 'Cette action n’est pas permise sur cette page.' },
  408: { title: 'Demande trop lente', message: 'La demande a mis trop de temps à arriver. Vérifiez votre connexion puis réessayez.' },
  413: { title: 'Envoi trop volumineux', message: 'Les informations envoyées sont trop volumineuses.' },
  429: { title: 'Trop de demandes', message: 'Trop de demandes en peu de temps. Patientez quelques minutes puis réessayez.' },
  431: {
    title: 'Adresse trop longue',
    message: 'L’adresse de cette page est trop longue pour être traitée. Revenez sur le site du service et recommencez.',
  },
  500: { title: 'Erreur inattendue', message: 'Une erreur inattendue s’est produite de notre côté. Réessayez dans quelques instants.' },
  503: {
    title: 'Service momentanément indisponible',
    message: 'GrandLyon Connect est momentanément indisponible. Réessayez dans quelques minutes.',
  },
};

/** A resident sees a French page, a service a JSON error, an operator one log line. */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404);
    } catch (caught) {
      const err = caught as ThrownError;
      let status = err.status ?? err.statusCode ?? 500;
      if (status < 400 || status > 599) status = 500;
      const entry = {
        requestId: ctx.state.requestId,
        method: ctx.method,
        path: ctx.path,
        status,
        error: err.code ?? err.error ?? err.name,
      };
      if (status >= 500) log.error({ ...entry, err }, 'request failed');
      else log.info(entry, 'request refused');
      ctx.status = status;
      if (ctx.path.startsWith('/api/') || ctx.accepts('html', 'json') === 'json') {
        ctx.body = {
          error: status >= 500 ? 'server_error' : (err.error ?? 'invalid_request'),
          error_description: status >= 500 ? 'internal error' : err.expose ? err.message : (FRENCH_ERRORS[status]?.title ?? 'error'),
        };
        return;
      }
      const page =
        err.code === 'csrf'
          ? {
              title: 'Formulaire expiré',
              message: 'Pour votre sécurité, ce formulaire a expiré. Revenez à la page précédente, rechargez-la et recommencez.',
            }
          : err.name === 'SessionNotFound' || (err.error === 'invalid_request' && /interaction/i.test(err.message))
            ? {
                title: 'Demande de connexion expirée',
                message:
                  'Votre demande de connexion a expiré ou a déjà été utilisée. Revenez sur le site du service et cliquez à nouveau sur « Se connecter ».',
              }
            : (FRENCH_ERRORS[status] ?? FRENCH_ERRORS[status >= 500 ? 500 : 400]!);
      render(ctx, 'errors/generic.njk', { ...page, requestId: ctx.state.requestId }, status);
    }
  };
}

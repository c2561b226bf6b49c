// Server-side HTML with nunjucks: auto-escaping on, one shared layout, French only.
import nunjucks from 'nunjucks';
import type { Context } from 'koa';
import { projectPath } from '../paths.js';

const viewsDir = projectPath('views');

export const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: false }), {
  autoescape: true,
  throwOnUndefined: false,
});
views.addFilter('date_fr', (value: Date | string | null | undefined) => {
  if (!value) return '';
  return new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(new Date(value));
});
views.addFilter('day_fr', (value: Date | string | null | undefined) => {
  if (!value) return '';
  return new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'Europe/Paris' }).format(new Date(value));
});

// Plain-text mails: no HTML escaping (a link's « & » must stay « & »). Never used for pages.
const textViews = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir), { autoescape: false });
for (const name of ['date_fr', 'day_fr']) textViews.addFilter(name, views.getFilter(name));

export function renderText(template: string, vars: Record<string, unknown> = {}): string {
  return textViews.render(template, vars);
}

export function renderView(template: string, vars: Record<string, unknown> = {}): string {
  return views.render(template, vars);
}

/** Renders a page into the response, with the CSRF token every form needs. */
export function render(ctx: Context, template: string, vars: Record<string, unknown> = {}, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderView(template, { csrfToken: ctx.state.csrfToken, ...vars });
}

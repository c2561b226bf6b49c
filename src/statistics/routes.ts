// HTTP of the statistics: a commune's API (its own services, client-credentials token with scope
// statistics:read), the public open-data CSV (all services together), and what the console page
// and its CSV show (mounted by admin/routes.ts behind the staff guard). Every figure published
// here comes from one Publication, suppression applied.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from '../services.js';
import { toCsv } from '../audit/service.js';
import { ApiError, authenticate } from '../deletion/routes.js';
import { figure, type Publication } from './publication.js';
import { showCell, type Cell } from './suppression.js';

export const STATISTICS_SCOPE = 'statistics:read';

const shown = (p: Publication, c: Cell) => showCell(c, p.minCount);

/** JSON of a commune's own services: per service, each indicator (null = below the threshold). */
export function apiBody(p: Publication, clientIds: readonly string[]) {
  const rows = p.services.map((svc, i) => ({ svc, i })).filter(({ svc }) => svc.clientId !== null && clientIds.includes(svc.clientId));
  return {
    minimum_count: p.minCount,
    period: { last_30_days: { from: p.last30From, to: p.to }, months: p.months },
    services: rows.map(({ svc, i }) => ({
      client_id: svc.clientId,
      name: svc.name,
      indicators: Object.fromEntries(
        p.indicators.map((ind) => [
          ind.key,
          {
            label: ind.label,
            last_30_days: figure(ind.last30.cells[i]![0]!),
            months: Object.fromEntries(p.months.map((m, c) => [m, figure(ind.months.cells[i]![c]!)])),
          },
        ]),
      ),
    })),
  };
}

/** Open data: every service together, per month and for the last 30 days. */
export function openDataCsv(p: Publication, accounts: { active30: number; active365: number; certified: number }): string {
  const lines: (string | number)[][] = [['indicateur', 'libelle', 'periode', 'valeur']];
  for (const ind of p.indicators) {
    lines.push([ind.key, ind.label, `${p.last30From}/${p.to}`, shown(p, ind.last30.colTotals[0] ?? { value: 0, suppressed: false })]);
    p.months.forEach((m, c) => lines.push([ind.key, ind.label, m, shown(p, ind.months.colTotals[c] ?? { value: 0, suppressed: false })]));
  }
  const small = (v: number) => (v > 0 && v < p.minCount ? `< ${p.minCount}` : v);
  lines.push(['comptes.actifs_30_jours', 'Comptes avec une connexion dans les 30 derniers jours', p.to, small(accounts.active30)]);
  lines.push(['comptes.actifs_365_jours', 'Comptes avec une connexion dans les 365 derniers jours', p.to, small(accounts.active365)]);
  lines.push(['comptes.identite_certifiee', 'Comptes à l’identité certifiée par FranceConnect', p.to, small(accounts.certified)]);
  return `\ufeff${toCsv(lines)}`;
}

/** The console's CSV: every service and the totals, as on the page. */
export function consoleCsv(p: Publication): string {
  const lines: (string | number)[][] = [['indicateur', 'libelle', 'service', 'periode', 'valeur']];
  for (const ind of p.indicators) {
    const periods: [string, (i: number) => Cell, Cell][] = [
      [`${p.last30From}/${p.to}`, (i) => ind.last30.cells[i]![0]!, ind.last30.colTotals[0] ?? { value: 0, suppressed: false }],
      ...p.months.map(
        (m, c) => [m, (i: number) => ind.months.cells[i]![c]!, ind.months.colTotals[c]!] as [string, (i: number) => Cell, Cell],
      ),
    ];
    for (const [period, cellOf, total] of periods) {
      p.services.forEach((svc, i) => lines.push([ind.key, ind.label, svc.clientId ?? 'glc', period, shown(p, cellOf(i))]));
      lines.push([ind.key, ind.label, 'total', period, shown(p, total)]);
    }
  }
  return `\ufeff${toCsv(lines)}`;
}

export function statisticsApiRoutes(s: Services): Router {
  const router = new Router({ prefix: '/api/v1/statistics' });
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      for (const [k, v] of Object.entries(err.extra)) if (k !== 'parameter') ctx.set(k, v);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = err.status;
      ctx.body = { error: err.error, error_description: err.description };
    }
  });

  router.get('/', async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    const clientId = await authenticate(s, ctx, STATISTICS_SCOPE);
    const [p, own] = await Promise.all([s.statistics.publish(new Date()), s.statistics.servicesOf(clientId)]);
    ctx.body = apiBody(p, own);
  });

  router.get('/open-data.csv', async (ctx) => {
    const now = new Date();
    const [p, accounts] = await Promise.all([s.statistics.publish(now), s.statistics.accountFigures(now)]);
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`grandlyon-connect-statistiques-${p.to}.csv`);
    ctx.body = openDataCsv(p, accounts);
  });

  return router;
}

const MONTHS_FR = ['janv.', 'févr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'];
const monthLabel = (m: string) => `${MONTHS_FR[Number(m.slice(5, 7)) - 1]} ${m.slice(0, 4)}`;

/**
 * What the console page shows: per indicator, a bar chart of the 12 monthly totals (drawn as
 * SVG on the server: no script, the console's CSP stays strict) and the same figures as tables.
 */
export function consoleView(p: Publication, accounts: { active30: number; active365: number; certified: number }) {
  const W = 360;
  const H = 150;
  const barW = W / p.months.length;
  return {
    minCount: p.minCount,
    from: p.last30From,
    to: p.to,
    accounts,
    months: p.months.map(monthLabel),
    services: p.services,
    indicators: p.indicators.map((ind, n) => {
      const totals = ind.months.colTotals;
      const max = Math.max(1, ...totals.filter((c) => !c.suppressed).map((c) => c.value));
      return {
        id: `ind-${n}`,
        label: ind.label,
        chart: {
          width: W,
          height: H + 20,
          bars: totals.map((c, i) => {
            const h = c.suppressed ? 0 : Math.round((c.value / max) * H);
            return {
              x: Math.round(i * barW + 2),
              y: H - h,
              w: Math.round(barW - 4),
              h,
              suppressed: c.suppressed,
              label: monthLabel(p.months[i]!),
            };
          }),
          baseline: H,
        },
        last30: {
          rows: p.services.map((svc, i) => ({ name: svc.name, value: shown(p, ind.last30.cells[i]![0]!) })),
          total: shown(p, ind.last30.colTotals[0] ?? { value: 0, suppressed: false }),
        },
        monthly: {
          rows: p.services.map((svc, i) => ({ name: svc.name, values: ind.months.cells[i]!.map((c) => shown(p, c)) })),
          totals: totals.map((c) => shown(p, c)),
        },
      };
    }),
  };
}

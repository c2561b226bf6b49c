// Help (SAU and FAQ), privacy and accessibility pages: linked from every page's footer.
import Router from '@koa/router';
import type { Config } from '../config.js';
import { render } from './views.js';

const PAGES: Record<string, string> = {
  '/aide': 'pages/aide.njk',
  '/confidentialite': 'pages/confidentialite.njk',
  '/accessibilite': 'pages/accessibilite.njk',
};

/** The durations the pages promise are the ones configured, so they cannot drift apart. */
export function staticPageRoutes(config: Config): Router {
  const router = new Router();
  const retention = {
    inactivityDays: config.inactivity.deleteAfterDays,
    warnDays: config.inactivity.warnDays,
    consentDays: config.consentTtlDays,
    consentProofDays: config.consentProofDays,
    deletedRecordDays: config.inactivity.deletedAccountsRetentionDays,
  };
  for (const [path, template] of Object.entries(PAGES)) {
    router.get(path, (ctx) => render(ctx, template, { retention }));
  }
  return router;
}

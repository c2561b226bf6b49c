// Help (SAU and FAQ), privacy and accessibility pages: linked from every page's footer.
import Router from '@koa/router';
import { render } from './views.js';

const PAGES: Record<string, string> = {
  '/aide': 'pages/aide.njk',
  '/confidentialite': 'pages/confidentialite.njk',
  '/accessibilite': 'pages/accessibilite.njk',
};

export function staticPageRoutes(): Router {
  const router = new Router();
  for (const [path, template] of Object.entries(PAGES)) {
    router.get(path, (ctx) => render(ctx, template));
  }
  return router;
}

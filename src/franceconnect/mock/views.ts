import nunjucks from 'nunjucks';
import { projectPath } from '../../paths.js';

export type MockViews = nunjucks.Environment;

export function createViews(): MockViews {
  return new nunjucks.Environment(new nunjucks.FileSystemLoader(projectPath('views', 'franceconnect-mock')), {
    autoescape: true,
    throwOnUndefined: false,
  });
}

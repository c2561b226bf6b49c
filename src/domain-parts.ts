// What a domain gives the app (see domains.ts): routers, periodic jobs, and middlewares mounted
// before every router (e.g. the in-process FranceConnect mock).
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Job } from './jobs/scheduler.js';

export interface DomainParts {
  routers?: Router[];
  jobs?: Job[];
  middlewares?: Koa.Middleware[];
}

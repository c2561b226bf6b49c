// `npm start`: the site on http://localhost:3001. Its GLC credentials come from the environment
// (GLC_ISSUER, GLC_CLIENT_ID, GLC_CLIENT_SECRET: the way in production) or, in development, from
// the file a GLC started with `npm start` writes in its data folder (GLC_CLIENT_FILE).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonFileResidentStore } from './residents.js';
import { startCommuneSite } from './site.js';
import type { GlcClient } from './glc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function glcClient(production: boolean, env: NodeJS.ProcessEnv): GlcClient {
  const { GLC_ISSUER: issuer, GLC_CLIENT_ID: clientId, GLC_CLIENT_SECRET: clientSecret } = env;
  if (issuer && clientId && clientSecret) return { issuer, clientId, clientSecret };
  if (production) fail('GLC_ISSUER, GLC_CLIENT_ID et GLC_CLIENT_SECRET sont obligatoires en production.');
  const file = path.resolve(ROOT, env.GLC_CLIENT_FILE ?? '../../data/commune-site.json');
  if (!existsSync(file))
    fail(
      `Identifiants introuvables : ${file}.\nDémarrez d’abord GrandLyon Connect en développement (npm start à la racine du dépôt) : il y écrit ceux de ce site.`,
    );
  return JSON.parse(readFileSync(file, 'utf8')) as GlcClient;
}

const production = process.env.NODE_ENV === 'production';
const port = Number(process.env.PORT ?? 3001);
const siteUrl = process.env.SITE_URL ?? `http://localhost:${port}`;
if (production && !process.env.COOKIE_KEYS) fail('COOKIE_KEYS est obligatoire en production (clés aléatoires séparées par des virgules).');

const site = await startCommuneSite({
  siteUrl,
  port,
  host: process.env.HOST ?? 'localhost',
  glc: glcClient(production, process.env),
  store: new JsonFileResidentStore(path.resolve(ROOT, process.env.DATA_FILE ?? 'data/usagers.json')),
  // Random per start outside production: a restart ends the sessions, which are in memory anyway.
  cookieKeys: process.env.COOKIE_KEYS?.split(',') ?? [randomBytes(32).toString('hex')],
  production,
  pollEveryMs: Number(process.env.POLL_INTERVAL_MINUTES ?? 60) * 60_000,
});
process.stdout.write(`Site de la commune de Valfleuri : ${siteUrl}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void site.close().then(() => process.exit(0)));

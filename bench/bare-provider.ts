// The library's ceiling: a bare node-oidc-provider 9 with its in-memory adapter, a minimal
// password login (a bare form; argon2id verification of the password against BARE_PASSWORD_HASH,
// GLC's parameters; the account is the login_hint, consent granted at once), the same key types
// as GLC (ES256 + RS256 3072) and pairwise subjects. Started by bench/http.ts as its own process:
// PORT, BARE_CLIENT_ID, BARE_CLIENT_SECRET, BARE_REDIRECT_URI, BARE_PASSWORD_HASH.
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import Provider, { type Configuration } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://localhost:${port}`;
const pairwiseSalt = randomBytes(32);

async function key(alg: 'ES256' | 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 3072 }) });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: alg.toLowerCase() };
}

const configuration: Configuration = {
  clients: [
    {
      client_id: process.env.BARE_CLIENT_ID!,
      client_secret: process.env.BARE_CLIENT_SECRET!,
      redirect_uris: [process.env.BARE_REDIRECT_URI!],
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      scope: 'openid profile email deleted_accounts:read',
      subject_type: 'pairwise',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [await key('ES256'), await key('RS256')] } as Configuration['jwks'],
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'deleted_accounts:read'],
  claims: { openid: ['sub'], profile: ['given_name', 'family_name'], email: ['email', 'email_verified'] },
  subjectTypes: ['pairwise', 'public'],
  pairwiseIdentifier: async (_ctx, accountId, client) =>
    createHmac('sha256', pairwiseSalt).update(`${client.sectorIdentifier}|${accountId}`).digest('base64url'),
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, given_name: 'Camille', family_name: 'Martin', email: `${id}@example.fr`, email_verified: true }),
  }),
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false }, clientCredentials: { enabled: true } },
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 400 * 24 * 3600,
  },
};

const provider = new Provider(issuer, configuration);
const callback = provider.callback();

const passwordHash = process.env.BARE_PASSWORD_HASH!;

async function interaction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    // The least a login page can be: one form, no style, no CSRF token, no throttling.
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><title>Connexion</title><form method="post" action="/interaction/${details.uid}/login">` +
        '<input name="email"><input name="password" type="password"><button>Se connecter</button></form>',
    );
    return;
  }
  let body = '';
  for await (const chunk of req) body += String(chunk);
  const form = new URLSearchParams(body);
  if (!(await argon2.verify(passwordHash, form.get('password') ?? ''))) {
    res.statusCode = 400;
    res.end('mot de passe incorrect');
    return;
  }
  // Consent granted in the same step.
  const accountId = String(details.params.login_hint ?? form.get('email'));
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

const server = http.createServer((req, res) => {
  if (!req.url?.startsWith('/interaction/')) return callback(req, res);
  interaction(req, res).catch((err: Error) => {
    res.statusCode = 500;
    res.end(err.message);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

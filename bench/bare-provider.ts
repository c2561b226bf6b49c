// The library's ceiling: a bare node-oidc-provider 9 with its in-memory adapter, a trivial
// login (every interaction logs in the account named by the login_hint, consent granted at
// once), the same key types as GLC (ES256 + RS256 3072) and pairwise subjects. Started by
// bench/http.ts as its own process: PORT, BARE_CLIENT_ID, BARE_CLIENT_SECRET, BARE_REDIRECT_URI.
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
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

const server = http.createServer((req, res) => {
  if (!req.url?.startsWith('/interaction/')) return callback(req, res);
  // Trivial login and consent in one step.
  (async () => {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.session?.accountId ?? String(details.params.login_hint ?? 'resident');
    const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
  })().catch((err: Error) => {
    res.statusCode = 500;
    res.end(err.message);
  });
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

// OpenAPI 3.1 description of the deleted-accounts API, served at /api/v1/openapi.json.
export function openApiDocument(issuer: string): Record<string, unknown> {
  const error = (description: string, example: Record<string, string>) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example } },
  });
  const challenge = { 'WWW-Authenticate': { description: 'RFC 6750 challenge', schema: { type: 'string' } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'GrandLyon Connect — API des comptes supprimés',
      version: '1.0.0',
      description:
        'Liste, pour le service appelant, les comptes GrandLyon Connect supprimés (à la demande de l’usager, après inactivité ou par un opérateur) '
        + 'qu’il connaissait, avec le `sub` exact qu’il a reçu. Le service supprime alors ses propres données de ces usagers. '
        + 'Pagination par curseur stable : gardez le dernier `next_cursor` et repartez-en au prochain appel.',
    },
    servers: [{ url: `${issuer}/api/v1` }],
    security: [{ clientCredentials: ['deleted_accounts:read'] }],
    paths: {
      '/deleted-accounts': {
        get: {
          operationId: 'listDeletedAccounts',
          summary: 'Comptes supprimés que le service connaissait, du plus ancien au plus récent',
          parameters: [
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'Valeur `next_cursor` d’une réponse précédente. Sans curseur ni `since` : depuis le plus ancien enregistrement conservé.' },
            { name: 'since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' }, description: 'Date ISO 8601 avec fuseau : commencer au premier compte supprimé à cette date ou après. Incompatible avec `cursor`.' },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: {
            200: {
              description: 'Une page d’enregistrements',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Page' } } },
            },
            400: error('Paramètre invalide (nommé dans `parameter`)', { error: 'invalid_request', error_description: 'limit: an integer from 1 to 1000', parameter: 'limit' }),
            401: { ...error('Jeton absent, inconnu, expiré ou révoqué', { error: 'invalid_token', error_description: 'the access token is unknown, expired or revoked' }), headers: challenge },
            403: { ...error('Le jeton n’a pas le scope deleted_accounts:read', { error: 'insufficient_scope', error_description: 'the access token lacks the scope deleted_accounts:read' }), headers: challenge },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        clientCredentials: {
          type: 'oauth2',
          description: 'Jeton d’accès obtenu par le client du service (grant client_credentials), envoyé en `Authorization: Bearer …`.',
          flows: { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: { 'deleted_accounts:read': 'lire les comptes supprimés connus du service' } } },
        },
      },
      schemas: {
        Page: {
          type: 'object',
          required: ['items', 'next_cursor', 'has_more'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/DeletedAccount' } },
            next_cursor: { type: 'string', description: 'À garder : le prochain appel avec ce curseur renvoie exactement les enregistrements suivants, y compris ceux créés entre-temps.' },
            has_more: { type: 'boolean', description: 'Vrai si d’autres enregistrements suivent déjà : rappeler tout de suite avec `next_cursor`.' },
          },
        },
        DeletedAccount: {
          type: 'object',
          required: ['sub', 'deleted_at', 'reason'],
          properties: {
            sub: { type: 'string', description: 'L’identifiant exact reçu par ce service (par paire ou public).' },
            deleted_at: { type: 'string', format: 'date-time' },
            reason: { type: 'string', enum: ['inactivity', 'user_request', 'operator'] },
          },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'string' }, error_description: { type: 'string' }, parameter: { type: 'string' } },
        },
      },
    },
  };
}

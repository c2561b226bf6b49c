// OpenAPI 3.1 description of the deleted-accounts API, served at /api/v1/openapi.json.
export function openApiDocument(issuer: string): Record<string, unknown> {
  const error = (description: string, example: Record<string, string>) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example } },
  });
  const challenge = { 'WWW-Authenticate': { description: 'RFC 6750 challenge', schema: { type: 'string' } } };
  const setError = (description: string, example: Record<string, string>) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/SetError' }, example } },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'GrandLyon Connect — API des comptes supprimés',
      version: '1.0.0',
      description:
        'Liste, pour le service appelant, les comptes GrandLyon Connect supprimés (à la demande de l’usager, après inactivité ou par un opérateur) ' +
        'qu’il connaissait, avec le `sub` exact qu’il a reçu. Le service supprime alors ses propres données de ces usagers. ' +
        'Pagination par curseur stable : gardez le dernier `next_cursor` et repartez-en au prochain appel. ' +
        'Les mêmes enregistrements existent sous forme de Security Event Tokens (RFC 8417, événement OpenID RISC `account-purged`) ' +
        'livrés par interrogation avec accusés de réception (RFC 8936) : `POST /security-events`.',
    },
    servers: [{ url: `${issuer}/api/v1` }],
    security: [{ clientCredentials: ['deleted_accounts:read'] }],
    paths: {
      '/deleted-accounts': {
        get: {
          operationId: 'listDeletedAccounts',
          summary: 'Comptes supprimés que le service connaissait, du plus ancien au plus récent',
          parameters: [
            {
              name: 'cursor',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description:
                'Valeur `next_cursor` d’une réponse précédente. Sans curseur ni `since` : depuis le plus ancien enregistrement conservé.',
            },
            {
              name: 'since',
              in: 'query',
              required: false,
              schema: { type: 'string', format: 'date-time' },
              description:
                'Date ISO 8601 avec fuseau : commencer au premier compte supprimé à cette date ou après. Incompatible avec `cursor`.',
            },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: {
            200: {
              description: 'Une page d’enregistrements',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Page' } } },
            },
            400: error('Paramètre invalide (nommé dans `parameter`)', {
              error: 'invalid_request',
              error_description: 'limit: an integer from 1 to 1000',
              parameter: 'limit',
            }),
            401: {
              ...error('Jeton absent, inconnu, expiré ou révoqué', {
                error: 'invalid_token',
                error_description: 'the access token is unknown, expired or revoked',
              }),
              headers: challenge,
            },
            403: {
              ...error('Le jeton n’a pas le scope deleted_accounts:read', {
                error: 'insufficient_scope',
                error_description: 'the access token lacks the scope deleted_accounts:read',
              }),
              headers: challenge,
            },
          },
        },
      },
      '/security-events': {
        post: {
          operationId: 'pollSecurityEvents',
          summary: 'Security Event Tokens des comptes supprimés, par interrogation (RFC 8936)',
          description:
            'Accuse réception des SET traités (`ack`, `setErrs`) et reçoit les suivants, du plus ancien au plus récent. ' +
            'Un SET non acquitté est livré de nouveau à chaque appel ; un SET acquitté ne l’est plus jamais. ' +
            'Sans `returnImmediately: true`, la réponse attend jusqu’à 15 s qu’un SET soit disponible (long polling). ' +
            'Chaque SET est un JWT signé ES256 (`typ: secevent+jwt`) vérifiable avec les clés publiées à `/jwks`.',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { $ref: '#/components/schemas/PollRequest' },
                example: { ack: ['1289-4f0e9a1c2b3d4e5f'], maxEvents: 100, returnImmediately: true },
              },
            },
          },
          responses: {
            200: {
              description: 'Les SET non encore acquittés (au plus `maxEvents`)',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PollResponse' } } },
            },
            400: setError('Requête invalide', { err: 'invalid_request', description: 'maxEvents: a non-negative integer' }),
            401: {
              ...setError('Jeton absent, inconnu, expiré ou révoqué', {
                err: 'authentication_failed',
                description: 'the access token is unknown, expired or revoked',
              }),
              headers: challenge,
            },
            403: {
              ...setError('Le jeton n’a pas le scope deleted_accounts:read', {
                err: 'access_denied',
                description: 'the access token lacks the scope deleted_accounts:read',
              }),
              headers: challenge,
            },
          },
        },
      },
      '/statistics': {
        get: {
          operationId: 'getStatistics',
          summary: 'Statistiques anonymes des services de l’organisation du client (30 derniers jours, 12 derniers mois)',
          description:
            'Effectifs par service et par indicateur (`login.password`, `consent.refused`…, voir docs/statistiques.md). ' +
            'Toute valeur inférieure à `minimum_count` (secret statistique, 10 par défaut) vaut `null`, ainsi que les valeurs masquées avec elle.',
          security: [{ clientCredentials: ['statistics:read'] }],
          responses: {
            '200': {
              description: 'Les chiffres, secret statistique appliqué',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['minimum_count', 'period', 'services'],
                    properties: {
                      minimum_count: { type: 'integer' },
                      period: {
                        type: 'object',
                        properties: {
                          last_30_days: {
                            type: 'object',
                            properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' } },
                          },
                          months: { type: 'array', items: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}$' } },
                        },
                      },
                      services: {
                        type: 'array',
                        items: {
                          type: 'object',
                          properties: {
                            client_id: { type: 'string' },
                            name: { type: 'string' },
                            indicators: {
                              type: 'object',
                              additionalProperties: {
                                type: 'object',
                                properties: {
                                  label: { type: 'string' },
                                  last_30_days: { type: ['integer', 'null'] },
                                  months: { type: 'object', additionalProperties: { type: ['integer', 'null'] } },
                                },
                              },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            '401': {
              ...error('Jeton absent, expiré ou révoqué', {
                error: 'invalid_token',
                error_description: 'the access token is unknown, expired or revoked',
              }),
              headers: challenge,
            },
            '403': {
              ...error('Le jeton n’a pas le scope statistics:read', {
                error: 'insufficient_scope',
                error_description: 'the access token lacks the scope statistics:read',
              }),
              headers: challenge,
            },
          },
        },
      },
      '/statistics/open-data.csv': {
        get: {
          operationId: 'getOpenDataStatistics',
          summary: 'Statistiques anonymes de tous les services ensemble (open data, public)',
          description:
            'CSV UTF-8, séparateur « ; » : indicateur;libelle;periode;valeur (valeur `< 10` sous le seuil). Dictionnaire : docs/statistiques.md.',
          security: [],
          responses: { '200': { description: 'Le fichier', content: { 'text/csv': { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        clientCredentials: {
          type: 'oauth2',
          description: 'Jeton d’accès obtenu par le client du service (grant client_credentials), envoyé en `Authorization: Bearer …`.',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}/token`,
              scopes: {
                'deleted_accounts:read': 'lire les comptes supprimés connus du service',
                'statistics:read': 'lire les statistiques anonymes des services de son organisation',
              },
            },
          },
        },
      },
      schemas: {
        Page: {
          type: 'object',
          required: ['items', 'next_cursor', 'has_more'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/DeletedAccount' } },
            next_cursor: {
              type: 'string',
              description:
                'À garder : le prochain appel avec ce curseur renvoie exactement les enregistrements suivants, y compris ceux créés entre-temps.',
            },
            has_more: {
              type: 'boolean',
              description: 'Vrai si d’autres enregistrements suivent déjà : rappeler tout de suite avec `next_cursor`.',
            },
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
        PollRequest: {
          type: 'object',
          description: 'RFC 8936 § 2.1. Tous les membres sont facultatifs.',
          properties: {
            ack: {
              type: 'array',
              items: { type: 'string' },
              maxItems: 10000,
              description: 'Les `jti` des SET traités : ils ne seront plus livrés.',
            },
            setErrs: {
              type: 'object',
              description:
                'SET reçus mais impossibles à traiter, par `jti` : ils comptent comme acquittés (l’erreur est conservée pour l’exploitation).',
              additionalProperties: {
                type: 'object',
                required: ['err'],
                properties: { err: { type: 'string' }, description: { type: 'string' } },
              },
            },
            maxEvents: {
              type: 'integer',
              minimum: 0,
              default: 100,
              description: 'Nombre maximal de SET dans la réponse (plafonné à 1000). 0 : acquitter seulement.',
            },
            returnImmediately: {
              type: 'boolean',
              default: false,
              description: 'Vrai : répondre tout de suite même sans SET ; faux : attendre jusqu’à 15 s.',
            },
          },
        },
        PollResponse: {
          type: 'object',
          required: ['sets', 'moreAvailable'],
          properties: {
            sets: {
              type: 'object',
              additionalProperties: { type: 'string', description: 'Le SET (JWS compact).' },
              description: 'Les SET livrés, par `jti`.',
            },
            moreAvailable: {
              type: 'boolean',
              description: 'Vrai si d’autres SET attendent déjà : rappeler tout de suite (en acquittant ceux-ci).',
            },
          },
        },
        SecurityEventToken: {
          type: 'object',
          description: 'Contenu (payload) d’un SET : RFC 8417, événement OpenID RISC account-purged, sujet au format iss_sub (RFC 9493).',
          required: ['iss', 'aud', 'jti', 'iat', 'toe', 'sub_id', 'events'],
          properties: {
            iss: { type: 'string', const: issuer },
            aud: { type: 'string', description: 'Le client_id du service.' },
            jti: { type: 'string', description: 'Identifiant stable du SET (le même à chaque livraison).' },
            iat: { type: 'integer', description: 'Heure de signature (secondes depuis 1970).' },
            toe: { type: 'integer', description: 'Heure de la suppression du compte (secondes depuis 1970).' },
            sub_id: { $ref: '#/components/schemas/IssSubSubject' },
            events: {
              type: 'object',
              required: ['https://schemas.openid.net/secevent/risc/event-type/account-purged'],
              properties: {
                'https://schemas.openid.net/secevent/risc/event-type/account-purged': {
                  type: 'object',
                  properties: {
                    subject: { $ref: '#/components/schemas/IssSubSubject' },
                    reason: {
                      type: 'string',
                      enum: ['inactivity', 'user_request', 'operator'],
                      description: 'Extension GLC : la cause de la suppression.',
                    },
                  },
                },
              },
            },
          },
        },
        IssSubSubject: {
          type: 'object',
          required: ['format', 'iss', 'sub'],
          properties: {
            format: { type: 'string', const: 'iss_sub' },
            iss: { type: 'string', const: issuer },
            sub: { type: 'string', description: 'Le `sub` exact reçu par ce service.' },
          },
        },
        SetError: {
          type: 'object',
          required: ['err'],
          properties: {
            err: { type: 'string', enum: ['invalid_request', 'authentication_failed', 'access_denied'] },
            description: { type: 'string' },
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

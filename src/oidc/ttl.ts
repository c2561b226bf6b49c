// Lifetimes of the provider's artefacts, in seconds (the key rotation's delays depend on them).
export const TTL = {
  AuthorizationCode: 60,
  AccessToken: 600,
  ClientCredentials: 600,
  IdToken: 3600,
  Interaction: 3600,
  Session: 14 * 24 * 3600,
  RefreshToken: 30 * 24 * 3600,
  Grant: 400 * 24 * 3600,
} as const;

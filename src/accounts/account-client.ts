// GLC's own account area signs residents in as a first-party OpenID client: it shares no data
// with anyone, so it never needs consent and is never told about deletions.
export const ACCOUNT_CLIENT_ID = 'glc-compte';

// Rows read ahead for the protocol request being served: when one query can return what the next
// lookups of the same request will ask for (a token with its session, grant, account and consent;
// an account with its consent and that consent's grant; a session as read, to compare with the
// one the library saves), the extra rows wait here and the next lookup takes them instead.
// Tied to oidc-provider's request context (it runs each request in an AsyncLocalStorage):
// nothing crosses requests, and each entry is taken once. Outside a request, nothing is kept.
// (No AsyncLocalStorage of GLC's own: in Node 20 each one adds work to every promise.)
import { Provider } from 'oidc-provider';

type Entries = Map<string, unknown>;
const byRequest = new WeakMap<object, Entries>();

function entries(create: boolean): Entries | undefined {
  const ctx = Provider.ctx as object | undefined;
  if (!ctx) return undefined;
  let found = byRequest.get(ctx);
  if (!found && create) byRequest.set(ctx, (found = new Map()));
  return found;
}

/** Keeps `value` (undefined: the row does not exist) for the next lookup of `key` in this request. */
export function readAhead(key: string, value: unknown): void {
  entries(true)?.set(key, value);
}

/** What was read ahead for `key` in this request, once; undefined when nothing was. */
export function takeReadAhead<T>(key: string): { value: T | undefined } | undefined {
  const found = entries(false);
  if (!found?.has(key)) return undefined;
  const value = found.get(key) as T | undefined;
  found.delete(key);
  return { value };
}

/** Where a token read leaves the account behind it, with what its domain reads along (consent). */
export const accountReadAheadKey = (accountId: string, clientId: string): string => `Account ${accountId} ${clientId}`;

/** Where a read leaves a grant (by id) for the adapter's next Grant lookup. */
export const grantReadAheadKey = (grantId: string): string => `Grant ${grantId}`;

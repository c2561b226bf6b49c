// Rows read ahead for the protocol request being served: when one query can return what the next
// lookups of the same request will ask for (a token with its session and grant, an account with
// its consent), the extra rows wait here and the next lookup takes them instead of querying.
// Tied to oidc-provider's request context (it runs each request in an AsyncLocalStorage), or to
// a page's own scope (withReadAhead): nothing crosses requests, and each entry is taken once.
// Outside either, nothing is kept.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Provider } from 'oidc-provider';

type Entries = Map<string, unknown>;
const byRequest = new WeakMap<object, Entries>();

// GLC's own pages that drive the provider (interactions) run outside its request context.
const pageScope = new AsyncLocalStorage<Entries>();

/** Runs `next` (a page's handling) with read-ahead entries of its own, dropped when it ends. */
export function withReadAhead<T>(next: () => Promise<T>): Promise<T> {
  return pageScope.run(new Map(), next);
}

function entries(create: boolean): Entries | undefined {
  const page = pageScope.getStore();
  if (page) return page;
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

/** Drops what was read ahead for `key` in this request (the row was just written). */
export function forgetReadAhead(key: string): void {
  entries(false)?.delete(key);
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

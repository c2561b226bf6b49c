// Lookups made in the same turn of the event loop, sent to PostgreSQL as one statement. Under
// load many requests look up a token, a session or an account in the same turn (one userinfo per
// service call, one code per callback). Their lookups wait until the loop has read every request
// that arrived (setImmediate) and go together: one round trip and one plan for the lot instead of
// one each, which on loopback TCP also saves a costly write per request. Batching only (DataLoader
// without its cache): nothing is kept across requests, so a revoked token is never served.
import DataLoader from 'dataloader';

/** DataLoader as GLC batches: no cache, sent one turn later (after the poll phase), 64 at most. */
export const BATCH_OPTIONS = {
  cache: false,
  maxBatchSize: 64,
  batchScheduleFn: (send: () => void) => setImmediate(send),
} as const;

/**
 * Lookups by key within a group (a model, a query): `read` receives the distinct keys asked in
 * one turn and returns the rows found, by `keyOf` of their key (the key itself for a string key);
 * a key not found gives undefined.
 */
export function batchedReads<Row, Key = string>(
  read: (group: string, keys: Key[]) => Promise<Map<string, Row>>,
  keyOf: (key: Key) => string = String,
) {
  const loaders = new Map<string, DataLoader<Key, Row | undefined>>();
  return (group: string, key: Key): Promise<Row | undefined> => {
    let loader = loaders.get(group);
    if (!loader) {
      loader = new DataLoader<Key, Row | undefined>(async (keys) => {
        const distinct = new Map(keys.map((k) => [keyOf(k), k]));
        const found = await read(group, [...distinct.values()]);
        // The same key asked twice in one batch: each request gets its own copy to change.
        const given = new Set<string>();
        return keys.map((k) => {
          const id = keyOf(k);
          const row = found.get(id);
          if (row === undefined) return undefined;
          if (given.has(id)) return structuredClone(row);
          given.add(id);
          return row;
        });
      }, BATCH_OPTIONS);
      loaders.set(group, loader);
    }
    return loader.load(key);
  };
}

// Every query on the clients table.
import type { AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/database.js';
import type { Client } from '../db/schema.js';
import type { Secrets } from '../secrets.js';
import { listen } from '../db/database.js';

// Clients are read on every protocol request and change a few times a year: each instance keeps
// them in memory. Any change to the table notifies every instance (trigger of migration 0011,
// LISTEN glc_clients), which drops its copy; the age limit covers a lost listening connection.
const CACHE_MS = 30_000;

export type ClientStore = ReturnType<typeof createClientStore>;

export interface ClientInsert {
  clientId: string;
  name: string;
  organisation: string | null;
  metadata: Record<string, unknown>;
  secret: string | null;
  logo: { data: Buffer; type: string } | null;
  claimsRequired: string[];
  claimsOptional: string[];
  purpose: string | null;
  claimsInIdToken?: boolean;
}

export function createClientStore(db: Db, secrets: Secrets) {
  const cache = new Map<string, { row: Client | undefined; metadata?: AdapterPayload | undefined; at: number }>();
  // Bumped by every invalidation: a read that began before it must not refill the cache.
  let generation = 0;
  const invalidate = () => {
    generation++;
    cache.clear();
  };
  listen(db, 'glc_clients', invalidate);

  const freshHit = (clientId: string) => {
    const hit = cache.get(clientId);
    return hit && Date.now() - hit.at < CACHE_MS ? hit : undefined;
  };

  async function cachedRow(clientId: string) {
    const hit = freshHit(clientId);
    if (hit) return hit;
    const started = generation;
    const row = await db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    const entry: { row: Client | undefined; metadata?: AdapterPayload; at: number } = { row, at: Date.now() };
    if (started === generation) cache.set(clientId, entry);
    return entry;
  }

  return {
    /** Forgets every cached registration (also done on every change notified by the database). */
    invalidate,

    async insert(c: ClientInsert): Promise<void> {
      await db
        .insertInto('clients')
        .values({
          client_id: c.clientId,
          name: c.name,
          organisation: c.organisation,
          metadata: JSON.stringify(c.metadata),
          secret_encrypted: c.secret ? secrets.encrypt(c.secret) : null,
          logo: c.logo?.data ?? null,
          logo_type: c.logo?.type ?? null,
          claims_required: c.claimsRequired,
          claims_optional: c.claimsOptional,
          purpose: c.purpose,
          claims_in_id_token: c.claimsInIdToken ?? false,
          enabled: true,
          updated_at: new Date(),
        })
        .execute();
      invalidate();
    },

    async update(
      clientId: string,
      changes: Partial<Omit<ClientInsert, 'clientId' | 'secret'>> & { bumpRequestVersion?: boolean },
    ): Promise<boolean> {
      const result = await db
        .updateTable('clients')
        .set((eb) => ({
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.organisation !== undefined && { organisation: changes.organisation }),
          ...(changes.metadata !== undefined && { metadata: JSON.stringify(changes.metadata) }),
          ...(changes.logo !== undefined && { logo: changes.logo?.data ?? null, logo_type: changes.logo?.type ?? null }),
          ...(changes.claimsRequired !== undefined && { claims_required: changes.claimsRequired }),
          ...(changes.claimsOptional !== undefined && { claims_optional: changes.claimsOptional }),
          ...(changes.purpose !== undefined && { purpose: changes.purpose }),
          ...(changes.claimsInIdToken !== undefined && { claims_in_id_token: changes.claimsInIdToken }),
          ...(changes.bumpRequestVersion && { request_version: eb('request_version', '+', 1) }),
          updated_at: new Date(),
        }))
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      invalidate();
      return result.numUpdatedRows > 0n;
    },

    async setSecret(clientId: string, secret: string): Promise<boolean> {
      const result = await db
        .updateTable('clients')
        .set({ secret_encrypted: secrets.encrypt(secret), updated_at: new Date() })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      invalidate();
      return result.numUpdatedRows > 0n;
    },

    async setEnabled(clientId: string, enabled: boolean): Promise<boolean> {
      const result = await db
        .updateTable('clients')
        .set({ enabled, updated_at: new Date() })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      invalidate();
      return result.numUpdatedRows > 0n;
    },

    async find(clientId: string): Promise<Client | undefined> {
      const { row } = await cachedRow(clientId);
      return row && { ...row };
    },

    async list(): Promise<Omit<Client, 'logo' | 'secret_encrypted'>[]> {
      return db
        .selectFrom('clients')
        .select([
          'client_id',
          'name',
          'organisation',
          'metadata',
          'enabled',
          'logo_type',
          'claims_required',
          'claims_optional',
          'purpose',
          'request_version',
          'claims_in_id_token',
          'created_at',
          'updated_at',
        ])
        .orderBy('created_at')
        .execute();
    },

    /** Whether the service receives its consented claims in the ID token too. */
    async claimsInIdToken(clientId: string): Promise<boolean> {
      return (await cachedRow(clientId)).row?.claims_in_id_token === true;
    },

    /**
     * The cached metadata object of an enabled client, as findProviderMetadata last built it; a new
     * object after any change or after the cache's age limit. Undefined when not cached.
     */
    cachedMetadata(clientId: string): object | undefined {
      const hit = freshHit(clientId);
      return hit?.row?.enabled ? hit.metadata : undefined;
    },

    /** The metadata oidc-provider needs; a CLI change applies everywhere at once (see the cache above). */
    async findProviderMetadata(clientId: string): Promise<AdapterPayload | undefined> {
      const entry = await cachedRow(clientId);
      const row = entry.row;
      if (!row || !row.enabled) return undefined;
      entry.metadata ??= {
        ...(row.metadata as AdapterPayload),
        client_id: clientId,
        client_name: row.name,
        ...(row.secret_encrypted && { client_secret: secrets.decrypt(row.secret_encrypted) }),
      };
      return { ...entry.metadata };
    },
  };
}

// Every query on the clients table.
import type { AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/database.js';
import type { Client } from '../db/schema.js';
import type { Secrets } from '../secrets.js';

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
  return {
    async insert(c: ClientInsert): Promise<void> {
      await db.insertInto('clients').values({
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
      }).execute();
    },

    async update(clientId: string, changes: Partial<Omit<ClientInsert, 'clientId' | 'secret'>> & { bumpRequestVersion?: boolean }): Promise<boolean> {
      const result = await db.updateTable('clients')
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
      return result.numUpdatedRows > 0n;
    },

    async setSecret(clientId: string, secret: string): Promise<boolean> {
      const result = await db.updateTable('clients').set({ secret_encrypted: secrets.encrypt(secret), updated_at: new Date() })
        .where('client_id', '=', clientId).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async setEnabled(clientId: string, enabled: boolean): Promise<boolean> {
      const result = await db.updateTable('clients').set({ enabled, updated_at: new Date() })
        .where('client_id', '=', clientId).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async find(clientId: string): Promise<Client | undefined> {
      return db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    },

    async list(): Promise<Omit<Client, 'logo' | 'secret_encrypted'>[]> {
      return db.selectFrom('clients')
        .select(['client_id', 'name', 'organisation', 'metadata', 'enabled', 'logo_type', 'claims_required', 'claims_optional', 'purpose', 'request_version', 'claims_in_id_token', 'created_at', 'updated_at'])
        .orderBy('created_at').execute();
    },

    /** Whether the service receives its consented claims in the ID token too. */
    async claimsInIdToken(clientId: string): Promise<boolean> {
      const row = await db.selectFrom('clients').select('claims_in_id_token').where('client_id', '=', clientId).executeTakeFirst();
      return row?.claims_in_id_token === true;
    },

    /** The metadata oidc-provider needs, read on every use so a CLI change applies everywhere at once. */
    async findProviderMetadata(clientId: string): Promise<AdapterPayload | undefined> {
      const row = await db.selectFrom('clients').select(['name', 'metadata', 'secret_encrypted', 'enabled'])
        .where('client_id', '=', clientId).executeTakeFirst();
      if (!row || !row.enabled) return undefined;
      return {
        ...(row.metadata as AdapterPayload),
        client_id: clientId,
        client_name: row.name,
        ...(row.secret_encrypted && { client_secret: secrets.decrypt(row.secret_encrypted) }),
      };
    },
  };
}

// node-oidc-provider's storage adapter on Kysely: every protocol object (sessions,
// interactions, codes, tokens, grants) is a row of oidc_payloads, so any app instance can
// serve any request. Clients come from the clients table (see clients/store.ts).
import { isDeepStrictEqual } from 'node:util';
import DataLoader from 'dataloader';
import { BATCH_OPTIONS, batchedReads } from '../db/batched.js';
import { errors, Provider, type Adapter, type AdapterPayload } from 'oidc-provider';
import { accountReadAheadKey, grantReadAheadKey, readAhead, takeReadAhead } from './read-ahead.js';
import { sql, type Expression, type Kysely, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database } from '../db/schema.js';
import { fastCommitDb, type Db } from '../db/database.js';
import { precompile } from '../db/precompiled.js';
import type { ClientStore } from '../clients/store.js';
import { hasControlCharacters } from '../http/input.js';

// Models whose single use matters: a second consume() is a replay, refused atomically.
const CONSUMABLE = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
]);

// Tokens whose next lookups are known: the library reads the session they are bound to
// (expiresWithSession), their grant and their account right after the token itself.
const WITH_SESSION_AND_GRANT = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);

const live = (expiresAt: Expression<Date | null>) => sql<SqlBool>`(${expiresAt} is null or ${expiresAt} > now())`;

// The library saves every session it reads, to slide its expiry (14 days): when nothing else
// changed and the row was saved less than an hour ago, that write is skipped. The session then
// ends at most an hour earlier than the library would say. Skipping also keeps a concurrent
// request's change (a new service, a logout) from being overwritten by this request's copy.
const SESSION_REFRESH_S = 3600;
const sessionAsReadKey = (id: string) => `Session read ${id}`;
// Where a token read leaves the session it is bound to, for the library's lookup by uid.
const sessionByUidKey = (uid: string) => `Session ${uid}`;

export function isOnlyAnEarlyExtension(stored: AdapterPayload | undefined, next: AdapterPayload): boolean {
  if (!stored || typeof stored.exp !== 'number' || typeof next.exp !== 'number') return false;
  if (next.exp < stored.exp || next.exp - stored.exp >= SESSION_REFRESH_S) return false;
  // As it would be stored (undefined members dropped), compared with what was read.
  const nextAsStored = JSON.parse(JSON.stringify(next)) as AdapterPayload;
  return isDeepStrictEqual({ ...nextAsStored, exp: 0 }, { ...stored, exp: 0 });
}

function withConsumed(payload: AdapterPayload, consumedAt: Date | null): AdapterPayload {
  return consumedAt ? { ...payload, consumed: Math.floor(consumedAt.getTime() / 1000) } : payload;
}

/** The adapter's hot statements, compiled once (db/precompiled.ts). */
const q = (() => {
  type Row = {
    model: string;
    id: string;
    payload: string;
    grant_id: string | null;
    uid: string | null;
    user_code: string | null;
    expires_at: Date | null;
  };
  // Several values at once: see batchedReads.
  const liveRows = (column: 'id' | 'uid' | 'user_code') =>
    precompile((db, v: { model: string; values: string[] }) =>
      db
        .selectFrom('oidc_payloads')
        .select((eb) => [eb.ref(column).as('key'), 'payload', 'consumed_at'])
        .where('model', '=', v.model)
        .where(column, '=', sql<string>`any(${v.values}::text[])`)
        .where(live(sql.ref('expires_at'))),
    );
  return {
    upsert: precompile((db, row: Row) =>
      db
        .insertInto('oidc_payloads')
        .values({
          model: row.model,
          id: row.id,
          payload: row.payload,
          grant_id: row.grant_id,
          uid: row.uid,
          user_code: row.user_code,
          expires_at: row.expires_at,
        })
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            uid: row.uid,
            user_code: row.user_code,
            expires_at: row.expires_at,
          }),
        ),
    ),
    // The same upsert for several rows at once (see batchedUpserts): one array per column.
    upsertMany: precompile(
      (
        db,
        v: {
          models: string[];
          ids: string[];
          payloads: string[];
          grant_ids: (string | null)[];
          uids: (string | null)[];
          user_codes: (string | null)[];
          expires_ats: (Date | null)[];
        },
      ) =>
        db
          .insertInto('oidc_payloads')
          .columns(['model', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'expires_at'])
          .expression(
            sql`select * from unnest(${v.models}::text[], ${v.ids}::text[], ${v.payloads}::jsonb[], ${v.grant_ids}::text[], ${v.uids}::text[], ${v.user_codes}::text[], ${v.expires_ats}::timestamptz[])`,
          )
          .onConflict((oc) =>
            oc.columns(['model', 'id']).doUpdateSet((eb) => ({
              payload: eb.ref('excluded.payload'),
              grant_id: eb.ref('excluded.grant_id'),
              uid: eb.ref('excluded.uid'),
              user_code: eb.ref('excluded.user_code'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          ),
    ),
    byId: liveRows('id'),
    byUid: liveRows('uid'),
    byUserCode: liveRows('user_code'),
    // The conditional update is the lock: of two concurrent redemptions exactly one wins.
    consume: precompile((db, v: { model: string; id: string }) =>
      db
        .updateTable('oidc_payloads')
        .set({ consumed_at: sql<Date>`now()` })
        .where('model', '=', v.model)
        .where('id', '=', v.id)
        .where('consumed_at', 'is', null)
        .returning('grant_id'),
    ),
    destroy: precompile((db, v: { model: string; id: string }) =>
      db.deleteFrom('oidc_payloads').where('model', '=', v.model).where('id', '=', v.id),
    ),
  };
})();

/**
 * What the provider asks for right after a token (code, access or refresh token) or, in an
 * authorization, right after the session or the interaction returned from: the account behind
 * it, with what its domain reads along (the consent, and in an authorization the consent's
 * grant: consent/store.ts). A query of one row or none, joined laterally to the row's own read
 * on its account and the service; its row waits under accountReadAheadKey for the provider's
 * loadAccount hook.
 */
export type AccountAlong = (
  db: Kysely<Database>,
  accountId: Expression<string>,
  clientId: Expression<string>,
) => SelectQueryBuilder<any, any, { id: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Tokens of one model, and the session, grant and account the provider looks up next, each
 * token with its own in one snapshot. Several ids at once: see batchedReads.
 */
function tokensWithWhatFollows(along: AccountAlong | undefined) {
  return precompile((db, v: { model: string; ids: string[] }) => {
    const token = db
      .selectFrom('oidc_payloads as t')
      .leftJoin('oidc_payloads as g', (join) =>
        join
          .onRef('g.id', '=', 't.grant_id')
          .on('g.model', '=', 'Grant')
          .on(live(sql.ref('g.expires_at'))),
      )
      .leftJoin('oidc_payloads as s', (join) =>
        join
          .on('s.model', '=', 'Session')
          .on(sql<SqlBool>`s.uid = t.payload->>'sessionUid'`)
          .on(live(sql.ref('s.expires_at'))),
      )
      // Prefixed: the account's columns come in the same row.
      .select([
        't.id as token_id',
        't.payload as token_payload',
        't.consumed_at as token_consumed_at',
        'g.payload as token_grant',
        's.payload as token_session',
      ])
      .where('t.model', '=', v.model)
      .where('t.id', '=', sql<string>`any(${v.ids}::text[])`)
      .where(live(sql.ref('t.expires_at')));
    if (!along) return token;
    return token
      .leftJoinLateral(along(db, sql<string>`t.payload->>'accountId'`, sql<string>`t.payload->>'clientId'`).as('along'), (join) =>
        join.onTrue(),
      )
      .selectAll('along');
  });
}

type TokenRow = {
  token_id: string;
  token_payload: unknown;
  token_consumed_at: Date | null;
  token_grant: unknown;
  token_session: unknown;
} & Record<string, unknown>;

/**
 * Rows of one model, each with the account behind it and what its domain reads along for a
 * service (`along`): what the provider looks up right after the session in an authorization, or
 * after the interaction when the browser returns from it. `accountOf` and `serviceOf` name them
 * in SQL, from the row (`s`) or the key (`k`). No account, or an unknown one: null columns.
 */
function rowsWithAccount(
  along: AccountAlong,
  model: 'Session' | 'Interaction',
  accountOf: Expression<string>,
  serviceOf: Expression<string>,
) {
  return precompile((db, v: { ids: string[]; clientIds: string[] }) =>
    db
      .selectFrom(sql<{ id: string; client_id: string }>`unnest(${v.ids}::text[], ${v.clientIds}::text[])`.as<'k'>(sql`k(id, client_id)`))
      .innerJoin('oidc_payloads as s', (join) =>
        join
          .onRef('s.id', '=', 'k.id')
          .on('s.model', '=', model)
          .on(live(sql.ref('s.expires_at'))),
      )
      .leftJoinLateral(along(db, accountOf, serviceOf).as('along'), (join) => join.onTrue())
      // Prefixed: the account's columns come in the same row.
      .select(['k.id as row_id', 'k.client_id as row_client_id', 's.payload as row_payload', 's.consumed_at as row_consumed_at'])
      .selectAll('along'),
  );
}

type RowWithAccount = {
  row_id: string;
  row_client_id: string;
  row_payload: unknown;
  row_consumed_at: Date | null;
} & Record<string, unknown>;
type RowForClient = { id: string; clientId: string };
// Unambiguous whatever the ids hold.
const rowForClientKey = ({ id, clientId }: RowForClient) => JSON.stringify([id, clientId]);

/** Who and which service an interaction is about when the browser returns from it: its login, else the session it began in. */
const interactionAccount = sql<string>`coalesce(s.payload #>> '{result,login,accountId}', s.payload #>> '{session,accountId}')`;
const interactionService = sql<string>`s.payload #>> '{params,client_id}'`;
function accountOfInteraction(payload: AdapterPayload): { accountId: unknown; clientId: unknown } {
  const { result, session, params } = payload as {
    result?: { login?: { accountId?: unknown } };
    session?: { accountId?: unknown };
    params?: { client_id?: unknown };
  };
  return { accountId: result?.login?.accountId ?? session?.accountId, clientId: params?.client_id };
}

/**
 * The service an authorization request names (GET /auth), read from its query before the
 * provider checks it: only to read ahead that service's consent with the session. A wrong or
 * unknown one costs nothing but an unused read-ahead entry (keyed by account and service).
 */
function authorizationClientId(): string | undefined {
  const ctx = Provider.ctx;
  if (ctx?.method !== 'GET' || ctx.oidc?.route !== 'authorization') return undefined;
  const clientId: unknown = ctx.query.client_id;
  return typeof clientId === 'string' && clientId.length <= MAX_CLIENT_ID_LENGTH && !hasControlCharacters(clientId) ? clientId : undefined;
}
const MAX_CLIENT_ID_LENGTH = 200;

/**
 * Leaves the account columns read along a row for the provider's loadAccount of this account and
 * service (null columns: no such account).
 */
function accountAhead(accountId: unknown, clientId: unknown, account: Record<string, unknown>): void {
  if (typeof accountId !== 'string' || typeof clientId !== 'string') return;
  readAhead(accountReadAheadKey(accountId, clientId), account.id === null || account.id === undefined ? undefined : account);
}

type PayloadRow = Parameters<typeof q.upsert.execute>[1];
const rowKey = (row: PayloadRow) => `${row.model} ${row.id}`;
// DataLoader takes an Error instance as a key's failure.
const asError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(String(reason)));

/**
 * Protocol rows saved in the same turn of the event loop (codes, tokens, sessions, interactions
 * of concurrent requests) go as one statement, as batchedReads does for lookups. A row saved
 * twice in one batch keeps its last version, as two statements in that order would. Should the
 * statement fail on a row's data or a conflict, each row is saved alone: one request's bad row
 * never fails another's save. Any other failure fails the whole batch at once.
 */
function batchedUpserts(on: Db) {
  const loader = new DataLoader<PayloadRow, void>(async (rows) => {
    const last = new Map<string, PayloadRow>();
    for (const row of rows) last.set(rowKey(row), row);
    // In key order: batches of two instances (or two turns) that share rows then lock them in the
    // same order, instead of each holding one and waiting for the other until PostgreSQL aborts one
    // as a deadlock (after deadlock_timeout, one second).
    const unique = [...last.keys()].sort().map((key) => last.get(key)!);
    try {
      await q.upsertMany.execute(on, {
        models: unique.map((r) => r.model),
        ids: unique.map((r) => r.id),
        payloads: unique.map((r) => r.payload),
        grant_ids: unique.map((r) => r.grant_id),
        uids: unique.map((r) => r.uid),
        user_codes: unique.map((r) => r.user_code),
        expires_ats: unique.map((r) => r.expires_at),
      });
      return rows.map(() => undefined);
    } catch (err) {
      // Only a row's own data can fail the lot (SQLSTATE class 22, data exception: a NUL in a JSON
      // string; 23, a constraint), or a conflict with another transaction (40): the rows are then
      // saved one by one, so the others still are. Anything else (connection lost, database
      // stopping) fails every row at once rather than sending a failing database one more
      // statement per row.
      if (unique.length === 1 || !/^(22|23|40)/.test(String((err as { code?: unknown }).code))) {
        const failure = asError(err);
        return rows.map(() => failure);
      }
      const alone = await Promise.allSettled(unique.map((row) => q.upsert.execute(on, row)));
      const outcome = new Map(unique.map((row, i) => [rowKey(row), alone[i]!]));
      return rows.map((row) => {
        const result = outcome.get(rowKey(row))!;
        return result.status === 'fulfilled' ? undefined : asError(result.reason);
      });
    }
  }, BATCH_OPTIONS);
  return (row: PayloadRow): Promise<void> => loader.load(row);
}

/**
 * What the adapter reads along (see AccountAlong): with a token (which brings its own grant), and
 * in an authorization with the session or the interaction returned from (the consent's grant too).
 */
export interface ReadAlong {
  readonly token: AccountAlong;
  readonly authorization: AccountAlong;
}

export function createAdapterClass(db: Db, clients: ClientStore, along?: ReadAlong) {
  // Issued protocol rows: losing the last instant of them in a database crash costs a login.
  const issuing = fastCommitDb(db);
  const save = batchedUpserts(issuing);
  const withWhatFollows = tokensWithWhatFollows(along?.token);
  const readToken = batchedReads<TokenRow>(async (model, ids) => {
    const { rows } = await withWhatFollows.execute(db, { model, ids });
    return new Map(rows.map((row) => [(row as TokenRow).token_id, row as TokenRow]));
  });
  const readLive = (query: typeof q.byId) =>
    batchedReads(async (model, values) => {
      const { rows } = await query.execute(db, { model, values });
      return new Map(rows.map((row) => [row.key as string, row]));
    });
  // The session of an authorization with the account and its consent for the service the request
  // names; the interaction the browser returns from with the account and service it is about.
  const withAccount = along && {
    Session: rowsWithAccount(along.authorization, 'Session', sql<string>`s.payload->>'accountId'`, sql.ref<string>('k.client_id')),
    Interaction: rowsWithAccount(along.authorization, 'Interaction', interactionAccount, interactionService),
  };
  const readWithAccount = batchedReads<RowWithAccount, RowForClient>(async (model, keys) => {
    const query = withAccount![model as 'Session' | 'Interaction'];
    const { rows } = await query.execute(db, { ids: keys.map((k) => k.id), clientIds: keys.map((k) => k.clientId) });
    return new Map(
      rows.map((row) => [rowForClientKey({ id: row.row_id as string, clientId: row.row_client_id as string }), row as RowWithAccount]),
    );
  }, rowForClientKey);
  const readById = readLive(q.byId);
  const readByUid = readLive(q.byUid);
  const readByUserCode = readLive(q.byUserCode);
  return class KyselyAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed with the glc CLI');
      if (this.model === 'Session' && isOnlyAnEarlyExtension(takeReadAhead<AdapterPayload>(sessionAsReadKey(id))?.value, payload)) return;
      await save({
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // Values from the provider's own parsing (token endpoint bodies…): NUL would make PostgreSQL fail.
      if (hasControlCharacters(id)) return undefined;
      if (this.model === 'Client') return clients.findProviderMetadata(id);
      if (this.model === 'Grant') {
        const ahead = takeReadAhead<AdapterPayload>(grantReadAheadKey(id));
        if (ahead) return ahead.value;
      }
      if (WITH_SESSION_AND_GRANT.has(this.model)) return this.findWithSessionAndGrant(id);
      if (this.model === 'Interaction' && withAccount && Provider.ctx?.oidc?.route === 'resume')
        return this.findWithAccount(id, '', accountOfInteraction);
      if (this.model !== 'Session') return this.findWhere(readById, id);
      const clientId = withAccount && authorizationClientId();
      const found = clientId
        ? await this.findWithAccount(id, clientId, (payload) => ({ accountId: payload.accountId, clientId }))
        : await this.findWhere(readById, id);
      // The library saves the session it read at the end of the request (upsert, below).
      if (found) readAhead(sessionAsReadKey(id), found);
      return found;
    }

    /**
     * One round trip instead of two: the row (a session in an authorization, an interaction at
     * the return from it), and the account behind it with its consent for the service (and that
     * consent's grant), handed to the provider's next lookups within this request.
     */
    private async findWithAccount(
      id: string,
      clientId: string,
      about: (payload: AdapterPayload) => { accountId: unknown; clientId: unknown },
    ): Promise<AdapterPayload | undefined> {
      if (hasControlCharacters(id)) return undefined;
      const row = await readWithAccount(this.model, { id, clientId });
      if (!row) return undefined;
      const { row_id: _id, row_client_id: _client, row_payload, row_consumed_at, ...account } = row;
      const payload = row_payload as AdapterPayload;
      const asked = about(payload);
      accountAhead(asked.accountId, asked.clientId, account);
      return withConsumed(payload, row_consumed_at);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Session') {
        const ahead = takeReadAhead<AdapterPayload>(sessionByUidKey(uid));
        if (ahead) return ahead.value;
      }
      return this.findWhere(readByUid, uid);
    }

    /**
     * One round trip instead of four: the token, and the session, grant and account (with its
     * consent) the library looks up next, read together in one snapshot and handed to those
     * lookups within this request.
     */
    private async findWithSessionAndGrant(id: string): Promise<AdapterPayload | undefined> {
      const row = await readToken(this.model, id);
      if (!row) return undefined;
      const { token_id: _id, token_payload, token_consumed_at, token_grant, token_session, ...account } = row;
      const payload = token_payload as AdapterPayload;
      if (typeof payload.grantId === 'string') readAhead(grantReadAheadKey(payload.grantId), token_grant ?? undefined);
      if (typeof payload.sessionUid === 'string') readAhead(sessionByUidKey(payload.sessionUid), token_session ?? undefined);
      if (along) accountAhead(payload.accountId, payload.clientId, account);
      return withConsumed(payload, token_consumed_at);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findWhere(readByUserCode, userCode);
    }

    private async findWhere(read: typeof readById, value: string): Promise<AdapterPayload | undefined> {
      if (hasControlCharacters(value)) return undefined;
      const row = await read(this.model, value);
      return row && withConsumed(row.payload as AdapterPayload, row.consumed_at);
    }

    async consume(id: string): Promise<void> {
      const result = (await q.consume.execute(db, { model: this.model, id })).rows[0];
      if (!result && CONSUMABLE.has(this.model)) {
        const row = await db
          .selectFrom('oidc_payloads')
          .select('grant_id')
          .where('model', '=', this.model)
          .where('id', '=', id)
          .executeTakeFirst();
        if (row?.grant_id) await revokeGrant(db, row.grant_id);
        throw new errors.InvalidGrant('grant already used');
      }
    }

    async destroy(id: string): Promise<void> {
      await q.destroy.execute(db, { model: this.model, id });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('grant_id', '=', grantId).execute();
    }
  };
}

/** Everything issued under a grant (codes, tokens, the grant itself) disappears at once. */
export async function revokeGrant(db: Db, grantId: string): Promise<void> {
  await db
    .deleteFrom('oidc_payloads')
    .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
    .execute();
}

/** Expired protocol rows are useless; the scheduler removes them periodically. */
export async function deleteExpiredPayloads(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

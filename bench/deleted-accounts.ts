// Deleted-accounts API: a page of 1,000 records out of 1,000,000 kept records, through real
// HTTP (loopback) with a real client-credentials token. Target: p95 ≤ 20 ms. Also the same feed
// as Security Event Tokens (RFC 8936 poll, 1,000 signed SETs per response).
//   npx tsx bench/deleted-accounts.ts      (or npm run bench -- deleted-accounts)
import { sql } from 'kysely';
import { cursorCodec } from '../src/deletion/routes.js';
import { percentile, startBenchGlc } from './deletion-support.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);

export async function benchDeletedAccounts(): Promise<Record<string, number | string>[]> {
  const glc = await startBenchGlc();
  try {
    const s = glc.services;
    const { clientId, clientSecret } = await s.clients.add({
      name: 'Commune de Bench',
      grantTypes: ['client_credentials'],
      scope: 'deleted_accounts:read',
      redirectUris: [],
    });
    // 4 records out of 5 belong to the polling service, the others to another one.
    const seedStart = performance.now();
    await sql`insert into deleted_accounts (client_id, sub, deleted_at, reason)
      select case when g % 5 = 0 then 'glc_other_service' else ${clientId} end,
             encode(sha256(convert_to(g::text, 'UTF8')), 'hex'),
             now() - interval '390 days' + g * interval '30 seconds',
             (array['inactivity', 'user_request', 'operator'])[1 + g % 3]
      from generate_series(1, ${RECORDS}) g`.execute(s.db);
    await sql`vacuum analyze deleted_accounts`.execute(s.db); // as autovacuum would: index-only scans
    const seedMs = performance.now() - seedStart;

    const tokenRes = await fetch(`${glc.config.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'deleted_accounts:read' }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const cursors = cursorCodec(s);
    const get = async (query: string) => {
      const t0 = performance.now();
      const res = await fetch(`${glc.config.issuer}/api/v1/deleted-accounts${query}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { items: unknown[]; next_cursor: string };
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return { ms: performance.now() - t0, items: body.items.length, next: body.next_cursor };
    };

    const rows: Record<string, number | string>[] = [];
    const report = (scenario: string, times: number[], items: number) => {
      times.sort((a, b) => a - b);
      rows.push({
        scenario,
        requests: times.length,
        'records/page': Math.round(items / times.length),
        'p50 ms': +percentile(times, 50).toFixed(1),
        'p95 ms': +percentile(times, 95).toFixed(1),
        'p99 ms': +percentile(times, 99).toFixed(1),
        'max ms': +times.at(-1)!.toFixed(1),
      });
    };
    for (let i = 0; i < 20; i++) await get(`?limit=1000&cursor=${cursors.encode(clientId, Math.floor(Math.random() * RECORDS))}`); // warm-up

    // Pages of 1,000 at random positions of the feed (one client polling at a time).
    let times: number[] = [];
    let items = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const r = await get(`?limit=1000&cursor=${cursors.encode(clientId, Math.floor(Math.random() * (RECORDS - 2000)))}`);
      times.push(r.ms);
      items += r.items;
    }
    report(`random page of 1,000 / ${RECORDS.toLocaleString('en')} kept`, times, items);

    // A service catching up from the beginning: consecutive pages following next_cursor.
    times = [];
    items = 0;
    let cursor = '';
    for (let i = 0; i < Math.min(REQUESTS, 200); i++) {
      const r = await get(`?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      times.push(r.ms);
      items += r.items;
      cursor = r.next;
    }
    report('catch-up walk, 1,000 per page', times, items);

    // Four services polling at once.
    times = [];
    items = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < REQUESTS / 4; i++) {
          const r = await get(`?limit=1000&cursor=${cursors.encode(clientId, Math.floor(Math.random() * (RECORDS - 2000)))}`);
          times.push(r.ms);
          items += r.items;
        }
      }),
    );
    report('random page of 1,000, 4 concurrent pollers', times, items);

    // `since` (time-indexed start).
    times = [];
    items = 0;
    for (let i = 0; i < Math.min(REQUESTS, 200); i++) {
      const since = new Date(Date.now() - Math.random() * 380 * 86_400_000).toISOString();
      const r = await get(`?limit=1000&since=${encodeURIComponent(since)}`);
      times.push(r.ms);
      items += r.items;
    }
    report('since=…, 1,000 per page', times, items);
    // Security Event Tokens (RFC 8936 poll): 1,000 SETs signed (ES256) per response.
    const pollSets = async (body: Record<string, unknown>) => {
      const t0 = performance.now();
      const res = await fetch(`${glc.config.issuer}/api/v1/security-events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ returnImmediately: true, ...body }),
      });
      const out = (await res.json()) as { sets: Record<string, string> };
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return { ms: performance.now() - t0, jtis: Object.keys(out.sets) };
    };
    const setMark = async (id: number) => {
      await sql`insert into security_event_streams (client_id, acked_through) values (${clientId}, ${id})
        on conflict (client_id) do update set acked_through = excluded.acked_through`.execute(s.db);
    };
    const setRequests = Math.min(REQUESTS, 100);
    times = [];
    items = 0;
    for (let i = 0; i < setRequests; i++) {
      await setMark(Math.floor(Math.random() * (RECORDS - 2000)));
      const r = await pollSets({ maxEvents: 1000 });
      times.push(r.ms);
      items += r.jtis.length;
    }
    report(`SET poll: 1,000 SETs at a random stream position / ${RECORDS.toLocaleString('en')} kept`, times, items);

    // A service catching up: each poll acknowledges the previous 1,000 and receives the next 1,000.
    times = [];
    items = 0;
    await setMark(Math.floor(RECORDS / 3));
    let ack: string[] = [];
    for (let i = 0; i < setRequests; i++) {
      const r = await pollSets({ ack, maxEvents: 1000 });
      times.push(r.ms);
      items += r.jtis.length;
      ack = r.jtis;
    }
    report('SET catch-up: ack 1,000 + next 1,000', times, items);

    rows.push({
      scenario: `seeding ${RECORDS.toLocaleString('en')} records (generate_series + vacuum analyze)`,
      'p50 ms': Math.round(seedMs),
    });
    return rows;
  } finally {
    await glc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchDeletedAccounts().then(
    (rows) => {
      console.table(rows);
      process.exit(0);
    },
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}

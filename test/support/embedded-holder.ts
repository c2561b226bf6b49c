// A process that opens the embedded database of DATA_DIR and waits (until killed): the tests use
// it to leave a crashed user behind.
import { openDatabase } from '../../src/db/database.js';
import { sql } from 'kysely';

const db = await openDatabase({ dataDir: process.env.DATA_DIR!, databaseUrl: undefined });
await sql`select 1`.execute(db);
process.stdout.write('ready\n');
setInterval(() => undefined, 60_000);

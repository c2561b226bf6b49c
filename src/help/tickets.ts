// Help-desk tickets: stored when a resident writes to the help desk (still mailed to
// SUPPORT_EMAIL), worked in the console, deleted `retentionDays` after closing.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { TicketStatus } from './tables.js';

export function createHelpTickets(db: Db, retentionDays: number) {
  return {
    async open(
      t: { email: string; subject: string; message: string; reference: string | undefined; requestId: string },
      now: Date,
    ): Promise<string> {
      const id = randomUUID();
      await db
        .insertInto('help_tickets')
        .values({
          id,
          email: t.email,
          subject: t.subject,
          message: t.message,
          reference: t.reference ?? null,
          request_id: t.requestId,
          status: 'new',
          notes: '[]',
          created_at: now,
          updated_at: now,
          closed_at: null,
        })
        .execute();
      return id;
    },
    list: (status: TicketStatus | undefined, limit = 100) => {
      let q = db.selectFrom('help_tickets').select(['id', 'email', 'subject', 'status', 'created_at', 'updated_at']);
      if (status) q = q.where('status', '=', status);
      return q.orderBy('created_at', 'desc').limit(limit).execute();
    },
    find: (id: string) => db.selectFrom('help_tickets').selectAll().where('id', '=', id).executeTakeFirst(),
    /** A status change and/or a note, in one statement (two agents' notes are both kept). */
    async update(id: string, change: { status: TicketStatus; note?: { staff: string; text: string } }, now: Date): Promise<boolean> {
      const note = change.note ? JSON.stringify([{ at: now.toISOString(), ...change.note }]) : '[]';
      const res = await db
        .updateTable('help_tickets')
        .set({
          status: change.status,
          updated_at: now,
          notes: sql`notes || ${note}::jsonb`,
          closed_at: change.status === 'closed' ? sql`coalesce(closed_at, ${now})` : null,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async purge(now: Date): Promise<number> {
      const res = await db
        .deleteFrom('help_tickets')
        .where('status', '=', 'closed')
        .where('closed_at', '<', new Date(now.getTime() - retentionDays * 86_400_000))
        .executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
export type HelpTickets = ReturnType<typeof createHelpTickets>;

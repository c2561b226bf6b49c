// Tables of the help desk's tickets, merged into the Database interface of db/schema.ts.
import type { Json, Timestamp } from '../db/types.js';

export const TICKET_STATUSES = ['new', 'in_progress', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];
export interface TicketNote {
  at: string;
  staff: string;
  text: string;
}

export interface HelpTicketTable {
  id: string;
  email: string;
  subject: string;
  message: string;
  reference: string | null;
  request_id: string;
  status: TicketStatus;
  notes: Json<TicketNote[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
  closed_at: Timestamp | null;
}

export interface HelpTables {
  help_tickets: HelpTicketTable;
}

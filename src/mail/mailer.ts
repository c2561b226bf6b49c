// Outgoing mail: SMTP in production; outside it, each message is a JSON file in
// DATA_DIR/mail, listed at /dev/mailbox. Messages are French templates in views/mail.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { renderText } from '../http/views.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}
export interface StoredMail extends MailMessage {
  id: string;
  sentAt: string;
}

export interface Mailer {
  /** Renders views/mail/<template>.njk (first line « Objet : … » is the subject) and sends it. */
  send(to: string, template: string, vars: Record<string, unknown>): Promise<void>;
  /**
   * The queued mailer (SMTP) only: stores the message in the caller's transaction, so that it is
   * sent if and only if the transaction commits (see src/outbox/queue.ts).
   */
  sendInTransaction?(trx: Transaction<Database>, to: string, template: string, vars: Record<string, unknown>): Promise<void>;
}

export function composeMail(to: string, template: string, vars: Record<string, unknown>): MailMessage {
  const rendered = renderText(`mail/${template}.njk`, vars).replace(/^\s+/, '');
  const [first = '', ...rest] = rendered.split('\n');
  const subject = first.replace(/^Objet\s*:\s*/, '').trim();
  return { to, subject, text: rest.join('\n').trim() + '\n' };
}

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  // Pooled: a purge can send thousands of notices; one SMTP connection per message would be slow.
  const url = new URL(smtpUrl);
  if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
  // Loaded at the first mail (the queue's workers), not during the cold start.
  let transport: Promise<Transporter> | undefined;
  return {
    async send(to, template, vars) {
      const message = composeMail(to, template, vars);
      transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(url.href));
      await (await transport).sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
  };
}

export function createDevMailbox(dataDir: string) {
  const dir = path.resolve(dataDir, 'mail');
  mkdirSync(dir, { recursive: true });
  return {
    async send(to: string, template: string, vars: Record<string, unknown>) {
      const message = composeMail(to, template, vars);
      const sentAt = new Date().toISOString();
      const id = `${sentAt.replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
      writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ id, sentAt, ...message }, null, 2), { mode: 0o600 });
    },
    /** Newest first. */
    list(): StoredMail[] {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .reverse()
        .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as StoredMail);
    },
  } satisfies Mailer & { list(): StoredMail[] };
}
export type DevMailbox = ReturnType<typeof createDevMailbox>;

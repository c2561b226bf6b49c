// The production mail path: a real SMTP conversation with a local SMTP server (smtp-server),
// French subject and body intact, sender as configured, the link unescaped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../src/mail/mailer.js';
import { startSmtp, type ReceivedMail, type TestSmtp } from './support/smtp.js';

const received: ReceivedMail[] = [];
let server: TestSmtp;
let port: number;

beforeAll(async () => {
  server = await startSmtp(received);
  port = server.port;
});
afterAll(async () => {
  await server.close();
});

describe('SMTP mailer', () => {
  it('sends a French template through SMTP with the configured sender', async () => {
    const mailer = createSmtpMailer(`smtp://127.0.0.1:${port}`, 'GrandLyon Connect <ne-pas-repondre@example.fr>');
    await mailer.send('camille@example.fr', 'verify-email', {
      link: 'https://connect.example.fr/inscription/confirmer?jeton=abc&retour=xyz',
      validHours: 24,
      helpUrl: 'https://connect.example.fr/aide',
    });
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.from).toBe('ne-pas-repondre@example.fr');
    expect(mail.to).toEqual(['camille@example.fr']);
    // Headers are RFC 2047-encoded (accents); the body carries the link with a plain « & ».
    expect(mail.raw).toMatch(/^Subject: =\?UTF-8\?/m);
    const body = mail.raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    expect(Buffer.from(body, 'latin1').toString('utf8')).toContain('https://connect.example.fr/inscription/confirmer?jeton=abc&retour=xyz');
  });
});

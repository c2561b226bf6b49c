// Nothing lost: with SMTP, mail goes through the durable queue (pg-boss); back-channel logouts
// too. A service or an SMTP server that is down gets every message once it is back, once; after
// the last try a delivery waits in a dead-letter queue that `glc queue status` shows and
// `glc queue retry` sends again.
import net from 'node:net';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { startGlc } from '../src/server.js';
import { revokeServiceAccess } from '../src/oidc/sessions.js';
import { eventually, freePort, registerClient, startBackchannelReceiver, startTestGlc, type TestGlc } from './support/glc.js';
import { startSmtp, type ReceivedMail } from './support/smtp.js';

const DAY = 86_400_000;
const received: ReceivedMail[] = [];
let smtpPort: number;
let glc: TestGlc;
const saved = { ...process.env };

/** SMTP « down »: the port accepts and drops every connection (counted), as a crashed relay would. */
function startDeadSmtp(port: number): Promise<{ attempts: () => number; close(): Promise<void> }> {
  let attempts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    attempts += 1;
    sockets.add(socket);
    socket.destroy();
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        attempts: () => attempts,
        close: () =>
          new Promise<void>((r) => {
            sockets.forEach((s) => s.destroy());
            server.close(() => r());
          }),
      }),
    ),
  );
}

async function queueStatus(g: TestGlc): Promise<{ queue: string; queued: number; deadLetters: number }[]> {
  let out = '';
  expect(
    await runCli(
      ['queue', 'status', '--json'],
      (t) => {
        out += t;
      },
      { services: g.services },
    ),
  ).toBe(0);
  return JSON.parse(out) as { queue: string; queued: number; deadLetters: number }[];
}
const statusOf = async (g: TestGlc, queue: string) => (await queueStatus(g)).find((q) => q.queue === queue)!;

beforeAll(async () => {
  smtpPort = await freePort();
  glc = await startTestGlc({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, QUEUE_RETRY_DELAY_SECONDS: '1', QUEUE_RETRY_LIMIT: '4' });
  Object.assign(process.env, { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...glc.database.env });
});
afterAll(async () => {
  process.env = saved;
  await glc?.close();
});

describe('durable queue', () => {
  it('SMTP down during a purge, then up: every deletion notice arrives, exactly once', async () => {
    const dead = await startDeadSmtp(smtpPort);
    // Residents inactive for more than two years, in an era far from the real clock (the app's
    // own daily purge, which uses the real date, leaves them alone).
    const lastActivity = new Date(Date.now() + 20_000 * DAY);
    const emails = Array.from({ length: 5 }, (_, i) => `purge${i}@example.fr`);
    for (const email of emails)
      await glc.services.accountStore.create({ email, passwordHash: null, emailVerifiedAt: lastActivity }, lastActivity);

    const report = await glc.services.deletion.runPurge(new Date(lastActivity.getTime() + 731 * DAY), { batchSize: 2, workers: 1 });
    expect(report.deleted).toBe(5);
    // The relay is down: the notices wait in the queue (the workers keep trying).
    await eventually(() => dead.attempts() > 0);
    expect((await statusOf(glc, 'mail')).queued + (await statusOf(glc, 'mail')).deadLetters).toBeGreaterThan(0);
    expect(received).toHaveLength(0);

    await dead.close();
    const smtp = await startSmtp(received, smtpPort);
    try {
      await eventually(() => received.length >= emails.length, 45_000);
      await new Promise((r) => setTimeout(r, 2500)); // time for a duplicate to show up, if any
      expect(received.flatMap((m) => m.to).sort()).toEqual([...emails].sort());
      expect(received[0]!.raw).toMatch(/^Subject: /m);
      const status = await statusOf(glc, 'mail');
      expect(status).toMatchObject({ queued: 0, deadLetters: 0 });
    } finally {
      await smtp.close();
    }
  });

  it('a mail queued in a transaction goes out if and only if the transaction commits', async () => {
    const smtp = await startSmtp(received, smtpPort);
    try {
      received.length = 0;
      const vars = { loginUrl: 'https://connect.example.fr/compte', resetUrl: 'https://connect.example.fr/mot-de-passe-oublie' };
      await expect(
        glc.services.db.transaction().execute(async (trx) => {
          await glc.services.mailer.sendInTransaction!(trx, 'annule@example.fr', 'signup-existing', vars);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      await glc.services.db
        .transaction()
        .execute((trx) => glc.services.mailer.sendInTransaction!(trx, 'valide@example.fr', 'signup-existing', vars));
      await eventually(() => received.length > 0);
      await new Promise((r) => setTimeout(r, 2500)); // time for the rolled-back one to show up, if it could
      expect(received.flatMap((m) => m.to)).toEqual(['valide@example.fr']);
      expect(await statusOf(glc, 'mail')).toMatchObject({ queued: 0, deadLetters: 0 });
    } finally {
      await smtp.close();
    }
  });

  it('a back-channel logout to a service that is down is retried and arrives once it is up', async () => {
    const service = await startBackchannelReceiver({ down: true });
    try {
      const client = await registerClient(glc, { name: 'Mairie de Saint-Fons', backchannelLogoutUri: service.url });
      const account = await glc.services.accountStore.create({ email: 'logout@example.fr', passwordHash: null });
      await revokeServiceAccess(glc.services, account.id, client.clientId);

      await eventually(() => service.refused() > 0);
      expect(service.tokens).toHaveLength(0);
      service.up();
      await eventually(() => service.tokens.length > 0, 45_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(service.tokens).toHaveLength(1);
      const { payload } = await jose.jwtVerify(service.tokens[0]!, jose.createRemoteJWKSet(new URL(`${glc.config.issuer}/jwks`)), {
        issuer: glc.config.issuer,
        audience: client.clientId,
      });
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    } finally {
      await service.close();
    }
  });

  it('after the last try a delivery is a dead letter, shown by glc queue status and sent again by glc queue retry', async () => {
    const once = await startTestGlc({ QUEUE_RETRY_LIMIT: '0' });
    const service = await startBackchannelReceiver({ down: true });
    try {
      const client = await registerClient(once, { name: 'Mairie de Feyzin', backchannelLogoutUri: service.url });
      const account = await once.services.accountStore.create({ email: 'dead@example.fr', passwordHash: null });
      await revokeServiceAccess(once.services, account.id, client.clientId);
      await eventually(async () => (await statusOf(once, 'backchannel-logout')).deadLetters === 1);
      expect(service.refused()).toBe(1);
      expect(await statusOf(once, 'backchannel-logout')).toMatchObject({ queued: 0, deadLetters: 1 });

      service.up();
      let out = '';
      expect(
        await runCli(
          ['queue', 'retry', '--queue', 'backchannel-logout', '--json'],
          (t) => {
            out += t;
          },
          { services: once.services },
        ),
      ).toBe(0);
      expect(JSON.parse(out)).toEqual({ queue: 'backchannel-logout', retried: 1 });
      await eventually(() => service.tokens.length > 0);
      expect(await statusOf(once, 'backchannel-logout')).toMatchObject({ deadLetters: 0 });
    } finally {
      await service.close();
      await once.close();
    }
  });

  it('with two instances working the queue, each mail is sent once, by one of them', async () => {
    const port = await freePort();
    const second = await startGlc({
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: glc.config.issuer,
      LOG_LEVEL: 'silent',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      ...glc.database.env,
    });
    const smtp = await startSmtp(received, smtpPort);
    const byInstance = [0, 0];
    for (const [i, s] of [glc.services, second.services].entries()) {
      const send = s.mailTransport.send.bind(s.mailTransport);
      s.mailTransport.send = async (to, template, vars) => {
        await send(to, template, vars);
        byInstance[i]! += 1;
      };
    }
    try {
      received.length = 0;
      const emails = Array.from({ length: 30 }, (_, i) => `deux${i}@example.fr`);
      await Promise.all(
        emails.map((to, i) =>
          (i % 2 ? glc : second).services.mailer.send(to, 'signup-existing', {
            loginUrl: 'https://connect.example.fr/compte',
            resetUrl: 'https://connect.example.fr/mot-de-passe-oublie',
          }),
        ),
      );
      await eventually(() => received.length >= emails.length, 45_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(received.flatMap((m) => m.to).sort()).toEqual([...emails].sort());
      expect(byInstance[0]! + byInstance[1]!).toBe(emails.length);
    } finally {
      await second.stop();
      await smtp.close();
    }
  });
});

// « Contacter l’assistance »: a resident reaches the help desk from any page, in French,
// with the error reference prefilled; the message reaches SUPPORT_EMAIL; abuse is throttled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from './support/browser.js';
import { startTestGlc, type TestGlc } from './support/glc.js';

let glc: TestGlc;
beforeAll(async () => {
  glc = await startTestGlc({ SUPPORT_EMAIL: 'sau@example.fr' });
});
afterAll(async () => {
  await glc?.close();
});

describe('help desk form', () => {
  it('is linked from error pages with the reference, and delivers the message to the help desk', async () => {
    const browser = new Browser(glc.config.issuer);
    const error = await browser.get('/page-inconnue');
    const link = /href="(\/aide\/contact\?ref=[^"]+)"/.exec(error.html)![1]!;
    const form = await browser.get(link);
    expect(form.status).toBe(200);
    const reference = new URL(link, glc.config.issuer).searchParams.get('ref')!;
    expect(form.html).toContain(`value="${reference}"`);

    const sent = await browser.submit(form, /\/aide\/contact$/, {
      email: 'habitant@example.fr',
      subject: 'connexion',
      message: 'Je ne reçois pas le courriel de confirmation.',
      reference,
    });
    expect(sent.status).toBe(200);
    expect(sent.html).toContain('Demande envoyée');
    const mail = glc.mails().find((m) => m.to === 'sau@example.fr')!;
    expect(mail.subject).toBe('[SAU GrandLyon Connect] Je n’arrive pas à me connecter');
    expect(mail.text).toContain('Répondre à : habitant@example.fr');
    expect(mail.text).toContain(`Référence de l’erreur : ${reference}`);
    expect(mail.text).toContain('Je ne reçois pas le courriel de confirmation.');
  });

  it('shows French errors next to the fields and sends nothing', async () => {
    const browser = new Browser(glc.config.issuer);
    const before = glc.mails().length;
    const page = await browser.submit(await browser.get('/aide/contact'), /\/aide\/contact$/, {
      email: 'pas-une-adresse',
      subject: 'inconnu',
      message: 'court',
      reference: '<script>',
    });
    expect(page.status).toBe(400);
    expect(page.html).toContain('<title>Erreur&nbsp;: Contacter l’assistance');
    for (const id of ['email-erreur', 'subject-erreur', 'message-erreur', 'reference-erreur']) expect(page.html).toContain(`id="${id}"`);
    expect(page.html).not.toContain('<script>');
    expect(glc.mails().length).toBe(before);
  });

  it('limits the messages sent from one address per hour', async () => {
    const browser = new Browser(glc.config.issuer);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const page = await browser.submit(await browser.get('/aide/contact'), /\/aide\/contact$/, {
        email: 'insistant@example.fr',
        subject: 'autre',
        message: `Message numéro ${i} pour l’assistance.`,
      });
      statuses.push(page.status);
    }
    // Two messages were sent by the first test from the same IP (loopback).
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
    expect(statuses.at(-1)).toBe(429);
  });
});

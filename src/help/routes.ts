// « Contacter l’assistance »: the help desk (SAU) form, reachable from every page's footer.
// The message goes by mail to SUPPORT_EMAIL; the resident's address is only used to answer.
import type Router from '@koa/router';
import { z } from 'zod';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import type { Services } from '../services.js';
import { emailSchema } from '../accounts/service.js';
import { readForm, text } from '../http/forms.js';
import { throttleKeys } from '../accounts/throttle-keys.js';

export const SUBJECTS = {
  connexion: 'Je n’arrive pas à me connecter',
  franceconnect: 'FranceConnect',
  donnees: 'Mes données personnelles (accès, rectification, suppression)',
  service: 'Un service raccordé à GrandLyon Connect',
  accessibilite: 'Accessibilité : un contenu que je ne peux pas utiliser',
  autre: 'Autre question',
} as const;
const MESSAGES_PER_HOUR_PER_IP = 5;

const contactSchema = z.object({
  email: emailSchema,
  subject: z.enum(Object.keys(SUBJECTS) as [keyof typeof SUBJECTS]),
  message: z.string().trim().min(10).max(5000),
  reference: z
    .string()
    .trim()
    .max(80)
    .regex(/^[A-Za-z0-9-]*$/)
    .optional(),
});

const FIELD_MESSAGES: Record<string, string> = {
  email: 'Saisissez l’adresse électronique où l’assistance peut vous répondre, par exemple nom@exemple.fr.',
  subject: 'Choisissez le sujet de votre demande.',
  message: 'Décrivez votre demande en quelques mots (10 à 5 000 caractères).',
  reference:
    'La référence ne contient que des lettres, des chiffres et des tirets : recopiez-la depuis la page d’erreur, ou laissez ce champ vide.',
};

export function helpRoutes(s: Services): Router {
  const router = pageRouter(s, '/aide/contact');
  const view = { title: 'Contacter l’assistance', subjects: SUBJECTS };

  router.get('/', (ctx) => {
    const reference = typeof ctx.query.ref === 'string' && /^[A-Za-z0-9-]{1,80}$/.test(ctx.query.ref) ? ctx.query.ref : '';
    render(ctx, 'help/contact.njk', { ...view, values: { reference } });
  });

  router.post('/', async (ctx) => {
    const body = readForm(ctx, z.object({ email: text, subject: text, message: text, reference: text }));
    const parsed = contactSchema.safeParse({ ...body, reference: body.reference || undefined });
    if (!parsed.success) {
      const errors = Object.fromEntries(
        parsed.error.issues.map((i) => [String(i.path[0]), FIELD_MESSAGES[String(i.path[0])] ?? 'Valeur invalide.']),
      );
      render(ctx, 'help/contact.njk', { ...view, values: body, errors }, 400);
      return;
    }
    const now = new Date();
    const allowed = await s.throttle.consume([throttleKeys.helpIp(ctx.ip)], MESSAGES_PER_HOUR_PER_IP, now);
    if (!allowed.ok) {
      render(ctx, 'help/contact.njk', { ...view, values: body, blockedUntil: allowed.retryAt }, 429);
      return;
    }
    const { email, subject, message, reference } = parsed.data;
    // Stored as a ticket for the console, and still mailed to the help desk's mailbox.
    await s.helpTickets.open({ email, subject: SUBJECTS[subject], message, reference, requestId: String(ctx.state.requestId) }, now);
    await s.mailer.send(s.config.supportEmail, 'help-request', {
      from: email,
      subject: SUBJECTS[subject],
      message,
      reference,
      requestId: ctx.state.requestId,
    });
    s.log.info({ event: 'help_request', subject, hasReference: Boolean(reference) }, 'help request sent to the help desk');
    render(ctx, 'help/sent.njk', { title: 'Demande envoyée' });
  });

  return router;
}

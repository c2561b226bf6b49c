// HTTP side of FranceConnect: the button of an authorization, the callback, the choice pages,
// the account area (link, unlink) and the return from FranceConnect's logout. Thin: the rules
// are in service.ts.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import { finishInteraction, interactionView } from '../interactions/flow.js';
import { requireRecentLogin, requireResident, residentSession } from '../accounts/session.js';
import { CLAIM_LABELS } from '../oidc/claims.js';
import type { Services } from '../services.js';
import { browserOf as browserOfSecrets, ensureBrowser as ensureBrowserCookie } from './browser.js';
import { FcProtocolError } from './client.js';
import type { FcErrorCategory, PendingLogin } from './service.js';
import { genderLabel, maskEmail } from '../http/labels.js';
import { z } from 'zod';
import { readForm, text } from '../http/forms.js';
import { birthcountryText, birthplaceText } from '../accounts/identity.js';

const ensureBrowser = (s: Services, ctx: Context) => ensureBrowserCookie(s.secrets, ctx);
const browserOf = (s: Services, ctx: Context) => browserOfSecrets(s.secrets, ctx);

const ERROR_PAGES: Record<FcErrorCategory | 'expired', { title: string; message: string; status: number }> = {
  cancelled: {
    title: 'Connexion avec FranceConnect annulée',
    message:
      'Vous n’êtes pas connecté avec FranceConnect. Vous pouvez réessayer, ou vous connecter avec votre adresse électronique et votre mot de passe.',
    status: 200,
  },
  config: {
    title: 'FranceConnect n’est pas disponible pour le moment',
    message:
      'La connexion avec FranceConnect n’a pas pu aboutir à cause d’un problème technique de notre côté. Connectez-vous avec votre adresse électronique et votre mot de passe, ou réessayez plus tard.',
    status: 503,
  },
  unavailable: {
    title: 'FranceConnect est momentanément indisponible',
    message: 'Réessayez dans quelques minutes, ou connectez-vous avec votre adresse électronique et votre mot de passe.',
    status: 503,
  },
  rejected: {
    title: 'La connexion avec FranceConnect n’a pas pu être vérifiée',
    message:
      'Pour votre sécurité, nous n’avons pas pu confirmer votre identité : la page a peut-être été ouverte deux fois, ou trop de temps s’est écoulé. Recommencez.',
    status: 400,
  },
  expired: {
    title: 'Connexion avec FranceConnect expirée',
    message: 'Cette étape de connexion avec FranceConnect a expiré ou a déjà été utilisée. Recommencez.',
    status: 400,
  },
};

function renderError(
  ctx: Context,
  category: FcErrorCategory | 'expired',
  where: { interactionUid?: string; accountArea?: boolean } = {},
): void {
  const page = ERROR_PAGES[category];
  render(
    ctx,
    'franceconnect/error.njk',
    {
      title: page.title,
      message: page.message,
      category,
      uid: where.interactionUid,
      accountArea: where.accountArea === true,
      requestId: ctx.state.requestId,
    },
    page.status,
  );
}

export function franceConnectRoutes(s: Services): Router[] {
  const fc = () => s.franceConnect;

  /* ------------------------------------------------------------ within an authorization */
  const interaction = pageRouter(s, '/interaction/:uid');

  interaction.post('/franceconnect', async (ctx) => {
    const { details } = await interactionView(s, ctx);
    try {
      const url = await fc().startLogin({ browserHash: ensureBrowser(s, ctx), interactionUid: details.uid }, new Date());
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(url);
    } catch (err) {
      if (!(err instanceof FcProtocolError)) throw err;
      s.log.error({ event: 'franceconnect_unreachable', reason: err.reason }, 'FranceConnect discovery failed');
      renderError(ctx, 'unavailable', { interactionUid: details.uid });
    }
  });

  /**
   * The pending FranceConnect identity of this browser for this interaction, if its outcome is
   * one this step accepts; otherwise the « expired » page (a second tab, a replayed form).
   */
  async function pending<O extends PendingLogin['outcome']>(
    ctx: Context,
    ...accepted: O[]
  ): Promise<{ pending: Extract<PendingLogin, { outcome: O }>; view: Record<string, unknown>; clientId: string } | undefined> {
    const { details, view } = await interactionView(s, ctx);
    const found = await fc().pendingLogin(browserOf(s, ctx), details.uid, new Date());
    if (!found || !(accepted as string[]).includes(found.outcome)) {
      renderError(ctx, 'expired', { interactionUid: details.uid });
      return undefined;
    }
    return { pending: found as Extract<PendingLogin, { outcome: O }>, view, clientId: String(details.params.client_id) };
  }

  async function logIn(ctx: Context, accountId: string | undefined, clientId: string, link?: 'automatic' | 'manual'): Promise<void> {
    if (!accountId) return renderError(ctx, 'expired', { interactionUid: ctx.params.uid });
    s.metrics.login('franceconnect', 'success');
    const now = new Date();
    await s.statistics.count({ kind: 'login', clientId, detail: 'franceconnect' }, now);
    // A new link certifies the identity with it (completeLogin of a known link only refreshes it).
    if (link) {
      await s.statistics.count({ kind: 'franceconnect_link', clientId, detail: link }, now);
      await s.statistics.count({ kind: 'franceconnect_certification', clientId }, now);
    }
    await finishInteraction(s, ctx, { login: { accountId, amr: ['fc'], acr: 'eidas1' } });
  }

  async function renderChoice(
    ctx: Context,
    p: PendingLogin,
    view: Record<string, unknown>,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    render(
      ctx,
      'franceconnect/choice.njk',
      {
        ...view,
        identity: p.identity.pivot,
        newAccountEmail: await fc().emailForNewAccount(p),
        email: p.identity.email ?? '',
        ...extra,
      },
      status,
    );
  }

  interaction.get('/franceconnect/suite', async (ctx) => {
    const found = await pending(ctx, 'known', 'auto_linked', 'recovery', 'choose');
    if (!found) return;
    const { pending: p, view } = found;
    if (p.outcome === 'known') return logIn(ctx, await fc().completeLogin(p, browserOf(s, ctx), new Date()), found.clientId);
    if (p.outcome === 'auto_linked') {
      const account = await s.accountStore.findById(p.accountId);
      render(ctx, 'franceconnect/linked-notice.njk', { ...view, maskedEmail: account?.email ? maskEmail(account.email) : undefined });
      return;
    }
    if (p.outcome === 'recovery') {
      render(ctx, 'franceconnect/recovery.njk', { ...view, reference: await fc().recoveryReference(p, new Date()) });
      return;
    }
    await renderChoice(ctx, p, view);
  });

  // « J’avais un compte créé avec FranceConnect, sans mot de passe »: a reference for the help desk.
  interaction.post('/franceconnect/assistance', async (ctx) => {
    const found = await pending(ctx, 'choose');
    if (!found) return;
    const reference = await fc().requestAssistance(found.pending, new Date());
    render(ctx, 'franceconnect/recovery.njk', { ...found.view, reference, unmatched: true });
  });

  // « Ce n’est pas mon compte » on the notice of an automatic link.
  interaction.post('/franceconnect/pas-mon-compte', async (ctx) => {
    const found = await pending(ctx, 'auto_linked');
    if (!found) return;
    const choice = await fc().undoAutomaticLink(found.pending, new Date());
    if (!choice) return renderError(ctx, 'expired', { interactionUid: ctx.params.uid });
    await renderChoice(ctx, choice, found.view, { undone: true });
  });

  interaction.post('/franceconnect/continuer', async (ctx) => {
    const found = await pending(ctx, 'known', 'auto_linked');
    if (!found) return;
    // An automatic link counts when the resident goes on with it (not when undone).
    const link = found.pending.outcome === 'auto_linked' ? 'automatic' : undefined;
    await logIn(ctx, await fc().completeLogin(found.pending, browserOf(s, ctx), new Date()), found.clientId, link);
  });

  interaction.post('/franceconnect/associer', async (ctx) => {
    const found = await pending(ctx, 'choose');
    if (!found) return;
    const { email, password } = readForm(ctx, z.object({ email: text, password: text }));
    const result = await fc().linkWithPassword(found.pending, { email, password, ip: ctx.ip }, browserOf(s, ctx), new Date());
    if (result.ok) return logIn(ctx, result.accountId, found.clientId, 'manual');
    const messages: Record<string, string> = {
      invalid: 'Adresse électronique ou mot de passe incorrect.',
      blocked: 'Trop de tentatives de connexion. Pour protéger votre compte, réessayez plus tard.',
      unverified: 'L’adresse électronique de ce compte n’est pas encore confirmée. Nous venons de vous renvoyer le lien de confirmation.',
      linked_elsewhere: 'Cette identité FranceConnect est déjà associée à un autre compte.',
      expired: ERROR_PAGES.expired.message,
    };
    if (result.reason === 'unverified') await s.accounts.sendVerification(result.account, new Date(), ctx.params.uid);
    await renderChoice(
      ctx,
      found.pending,
      found.view,
      {
        email,
        error: messages[result.reason],
        retryAt: result.reason === 'blocked' ? result.until : undefined,
      },
      result.reason === 'blocked' ? 429 : 401,
    );
  });

  interaction.post('/franceconnect/creer', async (ctx) => {
    const found = await pending(ctx, 'choose');
    if (!found) return;
    const accountId = await fc().createAccount(found.pending, browserOf(s, ctx), new Date());
    if (accountId) await s.statistics.count({ kind: 'signup', clientId: found.clientId, detail: 'franceconnect' }, new Date());
    await logIn(ctx, accountId, found.clientId);
  });

  /* ------------------------------------------------------------ FranceConnect's returns */
  const returns = pageRouter(s, '/franceconnect');

  returns.get('/callback', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const result = await fc().handleCallback(ctx.query, browserOf(s, ctx), new Date());
    if (result.kind === 'login') {
      ctx.redirect(`/interaction/${encodeURIComponent(result.interactionUid)}/franceconnect/suite`);
      return;
    }
    if (result.kind === 'linked') {
      if (result.ok) {
        await s.statistics.count({ kind: 'franceconnect_link', clientId: null, detail: 'account_area' }, new Date());
        await s.statistics.count({ kind: 'franceconnect_certification', clientId: null }, new Date());
      }
      ctx.redirect(`/compte/franceconnect?resultat=${result.ok ? 'associe' : 'deja-associe'}`);
      return;
    }
    renderError(ctx, result.category, { interactionUid: result.interactionUid, accountArea: result.purpose === 'link' });
  });

  // Back from FranceConnect's /session/end: a static page (never a new login: no loop).
  returns.get('/deconnexion', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const result = await fc().finishLogout(ctx.query.state, browserOf(s, ctx), new Date());
    if (result.ok && result.returnTo) return ctx.redirect(result.returnTo);
    render(ctx, 'franceconnect/logged-out.njk', { title: 'Vous êtes déconnecté', confirmed: result.ok });
  });

  /* ------------------------------------------------------------ account area */
  const area = pageRouter(s, '/compte/franceconnect');

  async function accountPage(ctx: Context, accountId: string, extra: Record<string, unknown> = {}, httpStatus = 200) {
    const status = await fc().status(accountId);
    const fields = status.fields.map((f) => ({
      label: CLAIM_LABELS[f.field] ?? f.field,
      value:
        f.field === 'gender'
          ? genderLabel(f.value)
          : f.field === 'birthplace'
            ? f.value === ''
              ? 'Né(e) à l’étranger'
              : birthplaceText(f.value)
            : f.field === 'birthcountry'
              ? birthcountryText(f.value)
              : f.value,
      certifiedAt: f.certified_at,
    }));
    render(ctx, 'franceconnect/account.njk', { title: 'FranceConnect et identité certifiée', status, fields, ...extra }, httpStatus);
  }

  area.get('/', requireResident(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const resultat = typeof ctx.query.resultat === 'string' ? ctx.query.resultat : undefined;
    await accountPage(ctx, resident.accountId, { resultat });
  });

  area.post('/associer', requireResident(s), requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    try {
      const url = await fc().startLink({ browserHash: ensureBrowser(s, ctx), accountId: resident.accountId }, new Date());
      ctx.status = 303;
      ctx.redirect(url);
    } catch (err) {
      if (!(err instanceof FcProtocolError)) throw err;
      s.log.error({ event: 'franceconnect_unreachable', reason: err.reason }, 'FranceConnect discovery failed');
      renderError(ctx, 'unavailable', { accountArea: true });
    }
  });

  area.post('/dissocier', requireResident(s), requireRecentLogin(s), async (ctx) => {
    const resident = (await residentSession(s, ctx))!;
    const result = await fc().unlink(resident.accountId);
    if (result.ok) {
      ctx.status = 303;
      ctx.redirect('/compte/franceconnect?resultat=dissocie');
      return;
    }
    await accountPage(
      ctx,
      resident.accountId,
      {
        error:
          result.reason === 'no_other_login'
            ? 'Vous ne pouvez pas dissocier FranceConnect : c’est aujourd’hui le seul moyen de vous connecter à votre compte. Choisissez d’abord un mot de passe pour votre compte, puis recommencez.'
            : 'Votre compte n’est pas associé à FranceConnect.',
      },
      409,
    );
  });

  return [interaction, returns, area];
}

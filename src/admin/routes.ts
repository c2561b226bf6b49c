// The back-office console at /admin: login (password, then TOTP), the help desk's account pages
// and actions, the DPO's journal, the operator's services, keys and staff. Every route checks the
// session, the second factor and the role on the server; every read of an account and every
// action is journalled (src/audit) with the reason the staff member typed.
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { pageRouter } from '../http/page-router.js';
import { render } from '../http/views.js';
import { readForm, text } from '../http/forms.js';
import { HttpError } from '../http/errors.js';
import type { Services } from '../services.js';
import { ClientInputError } from '../clients/service.js';
import type { RecoveryRefusal } from '../franceconnect/service.js';
import { TICKET_STATUSES, type TicketStatus } from '../help/tables.js';
import { describeEvent } from '../accounts/activity.js';
import { MAX_RETURN_PATH } from '../accounts/session.js';
import { exportAccountData } from '../accounts/export.js';
import { AUDIT_ACTIONS, toCsv } from '../audit/service.js';
import { consoleCsv, consoleView } from '../statistics/routes.js';
import type { AuditFilter } from '../audit/store.js';
import type { JobStatus } from '../jobs/scheduler.js';
import { isStaffRole, type Actor, type StaffSession } from './service.js';
import { STAFF_ROLES, type StaffRole } from './tables.js';
import { serviceMatches } from './service-search.js';

const COOKIE = 'glc.admin';
const ROLE_LABELS: Record<StaffRole, string> = {
  assistance: 'Assistance',
  dpo: 'Délégué à la protection des données',
  admin: 'Exploitation',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const staffOf = (ctx: Context) => ctx.state.staff as StaffSession;
// Bounded like the residents' return paths: it ends in a Location header.
const safeAdminPath = (p: unknown) =>
  typeof p === 'string' && p.length <= MAX_RETURN_PATH && /^\/admin(\/[A-Za-z0-9/_-]*)?$/.test(p) ? p : '/admin';

/** The role under which an action is done: the first of `allowed` the staff member holds. */
function actor(ctx: Context, allowed: readonly StaffRole[], reason: string): Actor {
  const staff = staffOf(ctx);
  const role = allowed.find((r) => staff.roles.includes(r))!;
  return { staff, role, reason, requestId: String(ctx.state.requestId) };
}

export function adminRoutes(s: Services): Router {
  const router = pageRouter(s, '/admin');
  const page = (ctx: Context, template: string, vars: Record<string, unknown> = {}, status = 200) => {
    const staff = ctx.state.staff as StaffSession | undefined;
    render(
      ctx,
      template,
      { staff: staff && { email: staff.email, roles: staff.roles, roleLabels: staff.roles.map((r) => ROLE_LABELS[r]) }, ...vars },
      status,
    );
  };
  const setCookie = (ctx: Context, token: string | null) =>
    ctx.cookies.set(COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      signed: false,
      path: '/admin',
      overwrite: true,
    });

  // Every /admin request: the staff session, if any (never the resident's).
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.state.staff = await s.admin.session(ctx.cookies.get(COOKIE), new Date());
    await next();
  });

  /** Signed in, second factor passed, and one of `roles` (any role when omitted); 403 otherwise. */
  const guard =
    (...roles: StaffRole[]) =>
    async (ctx: Context, next: Next) => {
      const staff = ctx.state.staff as StaffSession | undefined;
      if (!staff) return ctx.redirect('/admin/connexion');
      if (!staff.secondFactorAt) return ctx.redirect('/admin/second-facteur');
      if (roles.length && !roles.some((r) => staff.roles.includes(r))) {
        return page(ctx, 'admin/forbidden.njk', { title: 'Accès refusé' }, 403);
      }
      await next();
    };

  /**
   * Destructive operator actions: the second factor again when the last one is older than
   * 5 minutes. The confirmation page re-posts the same fields with the code.
   */
  const recentSecondFactor = async (ctx: Context, next: Next) => {
    const staff = staffOf(ctx);
    const now = new Date();
    if (s.admin.hasRecentSecondFactor(staff, now)) return next();
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const code = typeof body.code === 'string' ? body.code : '';
    if (code && (await s.admin.secondFactor(staff, code, now)).ok) return next();
    const fields = Object.entries(body).filter(
      (e): e is [string, string] => e[0] !== '_csrf' && e[0] !== 'code' && typeof e[1] === 'string',
    );
    page(
      ctx,
      'admin/confirm.njk',
      { title: 'Confirmer avec le second facteur', action: ctx.path, fields, failed: Boolean(code) },
      code ? 400 : 200,
    );
  };

  // ---- login ----
  router.get('/connexion', (ctx) => page(ctx, 'admin/login.njk', { title: 'Console GrandLyon Connect — connexion' }));
  router.post('/connexion', async (ctx) => {
    const form = readForm(ctx, z.object({ email: text, password: text }));
    const result = await s.admin.logIn({ email: form.email, password: form.password, ip: ctx.ip }, new Date());
    if (!result.ok) {
      return page(
        ctx,
        'admin/login.njk',
        { title: 'Console GrandLyon Connect — connexion', email: form.email, failed: true, blockedUntil: result.blockedUntil },
        result.blockedUntil ? 429 : 401,
      );
    }
    setCookie(ctx, result.token);
    ctx.status = 303;
    ctx.redirect('/admin/second-facteur');
  });

  async function secondFactorPage(ctx: Context, vars: Record<string, unknown> = {}, status = 200) {
    const staff = staffOf(ctx);
    const enrolment = await s.admin.enrolment(staff);
    // The QR code as inline SVG (an image, no script: the strict CSP stays).
    const qrSvg = enrolment.enrolled
      ? undefined
      : (await (await import('qrcode')).default.toString(enrolment.uri, { type: 'svg', margin: 1 })).replace(
          '<svg ',
          '<svg role="img" aria-label="QR code à scanner avec votre application d’authentification" width="200" height="200" ',
        );
    page(
      ctx,
      'admin/second-factor.njk',
      {
        title: enrolment.enrolled ? 'Second facteur' : 'Activer le second facteur',
        enrolment,
        qrSvg,
        retour: safeAdminPath(ctx.query.retour),
        ...vars,
      },
      status,
    );
  }
  router.get('/second-facteur', async (ctx) => {
    if (!ctx.state.staff) return ctx.redirect('/admin/connexion');
    await secondFactorPage(ctx);
  });
  router.post('/second-facteur', async (ctx) => {
    if (!ctx.state.staff) return ctx.redirect('/admin/connexion');
    const form = readForm(ctx, z.object({ code: text, retour: text }));
    const result = await s.admin.secondFactor(staffOf(ctx), form.code, new Date());
    if (!result.ok) return secondFactorPage(ctx, { failed: true, blockedUntil: result.blockedUntil }, result.blockedUntil ? 429 : 400);
    if (result.recoveryCodes) return page(ctx, 'admin/recovery-codes.njk', { title: 'Codes de secours', codes: result.recoveryCodes });
    ctx.status = 303;
    ctx.redirect(safeAdminPath(form.retour));
  });
  router.post('/deconnexion', async (ctx) => {
    await s.admin.logOut(ctx.cookies.get(COOKIE));
    setCookie(ctx, null);
    ctx.status = 303;
    ctx.redirect('/admin/connexion');
  });

  router.get('/', guard(), (ctx) => page(ctx, 'admin/home.njk', { title: 'Console GrandLyon Connect' }));

  // ---- help desk: residents ----
  const READERS: StaffRole[] = ['assistance', 'dpo'];
  router.get('/comptes', guard(...READERS), async (ctx) => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
    const pageNo = Math.min(Math.max(Number.parseInt(String(ctx.query.page ?? '1'), 10) || 1, 1), 1000);
    const rows = q ? await s.admin.search(q, pageNo) : [];
    page(ctx, 'admin/search.njk', {
      title: q ? `Recherche « ${q} »` : 'Rechercher un compte',
      q,
      tooShort: q.length > 0 && q.trim().length < 2,
      results: rows.slice(0, 20),
      pageNo,
      hasNext: rows.length > 20,
      nextUrl: `/admin/comptes?${new URLSearchParams({ q, page: String(pageNo + 1) })}`,
      prevUrl: `/admin/comptes?${new URLSearchParams({ q, page: String(pageNo - 1) })}`,
    });
  });

  const accountParam = (ctx: Context) => {
    const id = String(ctx.params.id ?? '');
    if (!UUID.test(id)) throw new HttpError(404, 'unknown account');
    return id;
  };
  const reasonSchema = z.object({ motif: text });
  const readReason = (ctx: Context) => readForm(ctx, reasonSchema.passthrough()).motif.trim().slice(0, 500);

  /** Consulting an account needs a reason; the page itself is the answer of that POST. */
  router.get('/comptes/:id', guard(...READERS), (ctx) =>
    page(ctx, 'admin/reason.njk', { title: 'Motif de la consultation', accountId: accountParam(ctx) }),
  );
  router.post('/comptes/:id', guard(...READERS), async (ctx) => {
    const id = accountParam(ctx);
    const reason = readReason(ctx);
    if (reason.length < 3) return page(ctx, 'admin/reason.njk', { title: 'Motif de la consultation', accountId: id, error: true }, 400);
    const view = await s.admin.viewAccount(actor(ctx, READERS, reason), id, new Date());
    if (!view) throw new HttpError(404, 'unknown account');
    page(ctx, 'admin/account.njk', {
      title: `Compte ${view.account.email ?? view.account.id}`,
      view,
      reason,
      events: view.events.map((e) => ({ at: e.created_at, text: describeEvent(e.type, e.detail as Record<string, unknown>) })),
      canAct: staffOf(ctx).roles.includes('assistance'),
      canExport: staffOf(ctx).roles.includes('dpo'),
      recentSecondFactor: s.admin.hasRecentSecondFactor(staffOf(ctx), new Date()),
      done: typeof ctx.query.fait === 'string' ? ctx.query.fait : undefined,
    });
  });

  /** DPO: the resident's data export (the same as « Télécharger mes données »), on a documented request. */
  router.post('/comptes/:id/export', guard('dpo'), async (ctx) => {
    const id = accountParam(ctx);
    const reason = readReason(ctx);
    if (reason.length < 3)
      return page(
        ctx,
        'admin/action-result.njk',
        { title: 'Motif manquant', accountId: id, error: 'Indiquez la demande qui justifie l’export (au moins 3 caractères).' },
        400,
      );
    const now = new Date();
    const data = await exportAccountData(s, id, now);
    if (!data) throw new HttpError(404, 'unknown account');
    await s.admin.journal(actor(ctx, ['dpo'], reason), 'account_exported', { accountId: id }, now);
    ctx.type = 'application/json; charset=utf-8';
    ctx.attachment(`export-compte-${id}.json`);
    ctx.body = JSON.stringify(data, null, 2);
  });

  const ACTIONS = {
    debloquer: 'Le blocage des connexions est levé.',
    reinitialisation: 'Le courriel de réinitialisation du mot de passe est envoyé.',
    verification: 'Le courriel de confirmation de l’adresse est renvoyé.',
    deconnexion: 'Toutes les sessions du compte sont fermées.',
    suppression: 'Le compte est supprimé.',
  } as const;
  router.post('/comptes/:id/:action', guard('assistance'), async (ctx) => {
    const id = accountParam(ctx);
    const action = String(ctx.params.action) as keyof typeof ACTIONS;
    if (!(action in ACTIONS)) throw new HttpError(404, 'unknown action');
    const form = readForm(ctx, z.object({ motif: text, code: text }));
    const reason = form.motif.trim().slice(0, 500);
    const account = await s.accountStore.findById(id);
    if (!account) throw new HttpError(404, 'unknown account');
    const now = new Date();
    const back = { accountId: id, action };
    if (reason.length < 3)
      return page(
        ctx,
        'admin/action-result.njk',
        { title: 'Motif manquant', ...back, error: 'Indiquez le motif de l’action (au moins 3 caractères).' },
        400,
      );
    const who = actor(ctx, ['assistance'], reason);
    let ok = true;
    if (action === 'debloquer') await s.admin.liftBlock(who, account, now);
    else if (action === 'reinitialisation') ok = await s.admin.sendReset(who, account, ctx.ip, now);
    else if (action === 'verification') ok = await s.admin.resendVerification(who, account, now);
    else if (action === 'deconnexion') await s.admin.endAllSessions(who, account, now);
    else {
      // Destructive: the second factor again, unless entered less than 5 minutes ago.
      if (!s.admin.hasRecentSecondFactor(staffOf(ctx), now)) {
        const check = await s.admin.secondFactor(staffOf(ctx), form.code, now);
        if (!check.ok)
          return page(
            ctx,
            'admin/action-result.njk',
            {
              title: 'Second facteur requis',
              ...back,
              error: 'Code du second facteur incorrect ou manquant : la suppression n’a pas été faite.',
            },
            400,
          );
      }
      ok = await s.admin.deleteAccount(who, account, now);
    }
    if (!ok)
      return page(
        ctx,
        'admin/action-result.njk',
        {
          title: 'Action impossible',
          ...back,
          error: 'L’action n’a pas pu être faite (adresse déjà confirmée, absente, ou trop de courriels envoyés récemment).',
        },
        409,
      );
    page(ctx, 'admin/action-result.njk', {
      title: 'Action effectuée',
      ...back,
      message: ACTIONS[action],
      deleted: action === 'suppression',
    });
  });

  // ---- help desk: FranceConnect recovery requests (replaces glc franceconnect recovery show|relink) ----
  const REFUSALS: Record<RecoveryRefusal, string> = {
    unknown: 'Cette demande n’existe pas, est déjà traitée ou a expiré.',
    account_required: 'Cette demande ne désigne aucun compte : indiquez l’identifiant du compte retrouvé.',
    account_mismatch: 'Cette demande concerne un autre compte.',
    account_unknown: 'Aucun compte n’a cet identifiant.',
    account_not_linked: 'Ce compte n’est pas relié à FranceConnect : l’habitant le relie lui-même depuis son compte.',
    account_has_password: 'Ce compte a un mot de passe : l’habitant le relie lui-même sur la page de choix (« J’ai déjà un compte »).',
    sub_linked_elsewhere: 'Cette identité FranceConnect est déjà reliée à un autre compte : rien n’a été modifié.',
  };
  const recoveryPage = async (ctx: Context, vars: Record<string, unknown> = {}, status = 200) => {
    const rows = await s.admin.store.openRecoveries(new Date());
    page(
      ctx,
      'admin/recoveries.njk',
      {
        title: 'Demandes FranceConnect',
        status,
        requests: rows.map((r) => ({ ...r, pivot: (r.identity as { pivot?: Record<string, string> } | null)?.pivot })),
        ...vars,
      },
      status,
    );
  };
  router.get('/franceconnect', guard('assistance'), (ctx) => recoveryPage(ctx));
  router.post('/franceconnect', guard('assistance'), async (ctx) => {
    const form = readForm(ctx, z.object({ reference: text, compte: text, motif: text }));
    const reason = form.motif.trim().slice(0, 500);
    if (reason.length < 3)
      return recoveryPage(ctx, { error: 'Indiquez comment l’identité de l’habitant a été vérifiée (au moins 3 caractères).' }, 400);
    const accountId = form.compte.trim() || undefined;
    if (accountId && !UUID.test(accountId)) return recoveryPage(ctx, { error: REFUSALS.account_unknown }, 400);
    const now = new Date();
    const result = await s.franceConnect.resolveRecovery(form.reference, now, accountId);
    if (!result.ok) return recoveryPage(ctx, { error: REFUSALS[result.reason] }, 409);
    await s.admin.journal(actor(ctx, ['assistance'], reason), 'franceconnect_relinked', { accountId: result.accountId }, now, {
      reference: form.reference.trim().toUpperCase(),
    });
    await recoveryPage(ctx, {
      done: `Le compte est relié à sa nouvelle identité FranceConnect (demande ${form.reference.trim().toUpperCase()}).`,
    });
  });

  // ---- help desk: tickets from « Contacter l’assistance » ----
  const STATUS_LABELS: Record<TicketStatus, string> = { new: 'nouvelle', in_progress: 'en cours', closed: 'close' };
  router.get('/demandes', guard('assistance'), async (ctx) => {
    const status =
      typeof ctx.query.etat === 'string' && (TICKET_STATUSES as readonly string[]).includes(ctx.query.etat)
        ? (ctx.query.etat as TicketStatus)
        : undefined;
    page(ctx, 'admin/tickets.njk', {
      title: 'Demandes d’assistance',
      tickets: await s.helpTickets.list(status),
      status,
      statusLabels: STATUS_LABELS,
      statuses: TICKET_STATUSES,
    });
  });
  const ticketParam = (ctx: Context) => {
    const id = String(ctx.params.id ?? '');
    if (!UUID.test(id)) throw new HttpError(404, 'unknown ticket');
    return id;
  };
  router.get('/demandes/:id', guard('assistance'), async (ctx) => {
    const ticket = await s.helpTickets.find(ticketParam(ctx));
    if (!ticket) throw new HttpError(404, 'unknown ticket');
    page(ctx, 'admin/ticket.njk', {
      title: `Demande du ${ticket.created_at.toLocaleDateString('fr-FR')}`,
      ticket,
      statusLabels: STATUS_LABELS,
      statuses: TICKET_STATUSES,
      saved: ctx.query.fait === '1',
    });
  });
  router.post('/demandes/:id', guard('assistance'), async (ctx) => {
    const id = ticketParam(ctx);
    const form = readForm(ctx, z.object({ etat: text, note: text }));
    if (!(TICKET_STATUSES as readonly string[]).includes(form.etat)) throw new HttpError(400, 'bad status');
    const note = form.note.trim().slice(0, 5000);
    const now = new Date();
    const updated = await s.helpTickets.update(
      id,
      { status: form.etat as TicketStatus, note: note ? { staff: staffOf(ctx).email, text: note } : undefined },
      now,
    );
    if (!updated) throw new HttpError(404, 'unknown ticket');
    await s.admin.journal(actor(ctx, ['assistance'], 'traitement d’une demande d’assistance'), 'ticket_updated', {}, now, {
      ticket: id,
      status: form.etat,
      note: Boolean(note),
    });
    ctx.status = 303;
    ctx.redirect(`/admin/demandes/${id}?fait=1`);
  });

  // ---- DPO: the audit journal and the consent journal check ----
  const journalFilter = (ctx: Context): AuditFilter => {
    const q = ctx.query;
    const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 200) : undefined);
    const day = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`) : undefined);
    const to = day(q.au);
    return {
      staff: str(q.agent),
      account: str(q.compte),
      action: str(q.action),
      from: day(q.du),
      to: to && new Date(to.getTime() + 86_400_000),
    };
  };
  // Anonymous usage statistics (issue 14): no resident's data, so not journalled.
  router.get('/statistiques', guard('admin', 'dpo'), async (ctx) => {
    const now = new Date();
    const [p, accounts] = await Promise.all([s.statistics.publish(now), s.statistics.accountFigures(now)]);
    page(ctx, 'admin/statistics.njk', { title: 'Statistiques d’utilisation', ...consoleView(p, accounts) });
  });
  router.get('/statistiques.csv', guard('admin', 'dpo'), async (ctx) => {
    const p = await s.statistics.publish(new Date());
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`statistiques-${p.to}.csv`);
    ctx.body = consoleCsv(p);
  });
  router.get('/journal', guard('dpo'), async (ctx) => {
    const filter = journalFilter(ctx);
    const rows = await s.audit.list(filter, 200);
    page(ctx, 'admin/journal.njk', {
      title: 'Journal des interventions',
      rows,
      query: ctx.query,
      actions: Object.keys(AUDIT_ACTIONS),
      csvUrl: `/admin/journal.csv?${new URLSearchParams(Object.entries(ctx.query).filter((e): e is [string, string] => typeof e[1] === 'string'))}`,
    });
  });
  router.get('/journal.csv', guard('dpo'), async (ctx) => {
    const filter = journalFilter(ctx);
    const rows = await s.audit.list(filter, 100_000);
    const now = new Date();
    await s.admin.journal(actor(ctx, ['dpo'], 'export CSV du journal'), 'audit_exported', {}, now, { entries: rows.length });
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`journal-interventions-${now.toISOString().slice(0, 10)}.csv`);
    ctx.body = `\ufeff${toCsv([
      ['numero', 'date', 'agent', 'role', 'action', 'compte', 'service', 'motif', 'requete', 'empreinte'],
      ...rows.map((r) => [
        r.seq,
        r.at.toISOString(),
        r.staff_email,
        r.role,
        r.action,
        r.target_account_id,
        r.target_client_id,
        r.reason,
        r.request_id,
        r.hash,
      ]),
    ])}`;
  });
  router.get('/verifications', guard('dpo'), async (ctx) => {
    const [consent, audit] = await Promise.all([s.consent.verifyJournal(), s.audit.verify()]);
    page(ctx, 'admin/verifications.njk', { title: 'Vérification des journaux', consent, audit });
  });

  // ---- operator: services, keys, staff ----
  const servicesPage = async (ctx: Context, vars: Record<string, unknown> = {}, status = 200) => {
    const query = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 100) : '';
    const all = await s.clients.list();
    const services = query ? all.filter((c) => serviceMatches(c, query)) : all;
    return page(ctx, 'admin/services.njk', { title: 'Services raccordés', services, total: all.length, query, form: {}, ...vars }, status);
  };
  router.get('/services', guard('admin'), (ctx) => servicesPage(ctx));
  /** The same routine and checks as `glc client add` (s.clients.add). */
  router.post('/services', guard('admin'), async (ctx) => {
    const form = readForm(
      ctx,
      z.object({
        name: text,
        organisation: text,
        redirectUris: text,
        postLogoutRedirectUris: text,
        scope: text,
        authMethod: text,
        subjectType: text,
        refresh: text,
        purpose: text,
      }),
    );
    const lines = (v: string) => v.split(/\s+/).filter(Boolean);
    try {
      const created = await s.clients.add({
        name: form.name,
        organisation: form.organisation.trim() || undefined,
        redirectUris: lines(form.redirectUris),
        postLogoutRedirectUris: lines(form.postLogoutRedirectUris),
        scope: form.scope.trim() || 'openid profile email',
        authMethod: form.authMethod as 'client_secret_basic',
        subjectType: form.subjectType as 'pairwise',
        grantTypes: form.refresh === 'oui' ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
        purpose: form.purpose.trim() || undefined,
      });
      await s.admin.journal(
        actor(ctx, ['admin'], 'enregistrement d’un service'),
        'service_created',
        { clientId: created.clientId },
        new Date(),
        { name: form.name },
      );
      page(ctx, 'admin/service-created.njk', { title: 'Service enregistré', created, name: form.name });
    } catch (err) {
      if (!(err instanceof ClientInputError)) throw err;
      await servicesPage(ctx, { error: err.message, form }, 400);
    }
  });
  /** Editing: the same routine and checks as `glc client update` (s.clients.update). */
  const editPage = async (ctx: Context, clientId: string, vars: Record<string, unknown> = {}, status = 200) => {
    const client = await s.clients.show(clientId).catch(() => undefined);
    if (!client) throw new HttpError(404, 'unknown service');
    const m = client.metadata as { redirect_uris?: string[]; post_logout_redirect_uris?: string[]; scope?: string };
    page(
      ctx,
      'admin/service-edit.njk',
      {
        title: `Modifier le service ${client.name}`,
        client,
        form: {
          name: client.name,
          organisation: client.organisation ?? '',
          redirectUris: (m.redirect_uris ?? []).join('\n'),
          postLogoutRedirectUris: (m.post_logout_redirect_uris ?? []).join('\n'),
          scope: m.scope ?? '',
          purpose: client.purpose ?? '',
          claimsRequired: client.claims_required.join(' '),
          claimsOptional: client.claims_optional.join(' '),
        },
        ...vars,
      },
      status,
    );
  };
  router.get('/services/:clientId', guard('admin'), (ctx) => editPage(ctx, String(ctx.params.clientId), { saved: ctx.query.fait === '1' }));
  router.post('/services/:clientId', guard('admin'), async (ctx) => {
    const clientId = String(ctx.params.clientId);
    const form = readForm(
      ctx,
      z.object({
        name: text,
        organisation: text,
        redirectUris: text,
        postLogoutRedirectUris: text,
        scope: text,
        purpose: text,
        claimsRequired: text,
        claimsOptional: text,
      }),
    );
    const words = (v: string) => v.split(/\s+/).filter(Boolean);
    if (!(await s.clientStore.find(clientId))) throw new HttpError(404, 'unknown service');
    try {
      await s.clients.update(clientId, {
        name: form.name,
        organisation: form.organisation.trim() || undefined,
        purpose: form.purpose.trim() || undefined,
        redirectUris: words(form.redirectUris),
        postLogoutRedirectUris: words(form.postLogoutRedirectUris),
        scope: form.scope.trim() || undefined,
        claimsRequired: words(form.claimsRequired),
        claimsOptional: words(form.claimsOptional),
      });
    } catch (err) {
      if (!(err instanceof ClientInputError)) throw err;
      return editPage(ctx, clientId, { error: err.message, form }, 400);
    }
    await s.admin.journal(actor(ctx, ['admin'], 'modification d’un service'), 'service_updated', { clientId }, new Date());
    ctx.status = 303;
    ctx.redirect(`/admin/services/${encodeURIComponent(clientId)}?fait=1`);
  });
  router.post('/services/:clientId/:operation', guard('admin'), recentSecondFactor, async (ctx) => {
    const clientId = String(ctx.params.clientId);
    const operation = String(ctx.params.operation);
    if (!['secret', 'desactiver', 'activer'].includes(operation) || !(await s.clientStore.find(clientId)))
      throw new HttpError(404, 'unknown');
    const who = actor(ctx, ['admin'], 'gestion des services');
    try {
      if (operation === 'secret') {
        const secret = await s.clients.rotateSecret(clientId);
        await s.admin.journal(who, 'service_secret_rotated', { clientId }, new Date());
        return page(ctx, 'admin/service-created.njk', {
          title: 'Nouveau secret',
          created: { clientId, clientSecret: secret },
          rotated: true,
        });
      }
      await s.clients.setEnabled(clientId, operation === 'activer');
      await s.admin.journal(who, operation === 'activer' ? 'service_enabled' : 'service_disabled', { clientId }, new Date());
    } catch (err) {
      if (!(err instanceof ClientInputError)) throw err;
      return servicesPage(ctx, { error: err.message }, 400);
    }
    ctx.status = 303;
    ctx.redirect('/admin/services');
  });
  router.get('/cles', guard('admin'), async (ctx) => {
    page(ctx, 'admin/keys.njk', { title: 'Clés de signature', keys: await s.keys.list(true) });
  });
  router.post('/cles/rotation', guard('admin'), recentSecondFactor, async (ctx) => {
    const rotated = await s.keys.rotate();
    await s.admin.journal(actor(ctx, ['admin'], 'rotation des clés'), 'keys_rotated', {}, new Date(), {
      kids: rotated.kids,
      activatesAt: rotated.activatesAt.toISOString(),
    });
    await s.reloadProviderIfKeysChanged();
    ctx.status = 303;
    ctx.redirect('/admin/cles');
  });
  router.get('/taches', guard('admin'), (ctx) => {
    const jobs = (ctx as Context & { jobsStatus?: () => JobStatus[] }).jobsStatus?.() ?? [];
    page(ctx, 'admin/jobs.njk', {
      title: 'Tâches périodiques',
      jobs: jobs.map((j) => ({
        ...j,
        result: j.lastResult ? JSON.stringify(j.lastResult) : undefined,
        everyMinutes: Math.round(j.everyMs / 60_000),
      })),
    });
  });
  router.post('/cles/retrait', guard('admin'), recentSecondFactor, async (ctx) => {
    const kids = await s.keys.retire(undefined);
    await s.admin.journal(actor(ctx, ['admin'], 'retrait des anciennes clés'), 'keys_retired', {}, new Date(), { kids });
    await s.reloadProviderIfKeysChanged();
    ctx.status = 303;
    ctx.redirect('/admin/cles');
  });
  router.get('/personnel', guard('admin'), async (ctx) => {
    page(ctx, 'admin/staff.njk', {
      title: 'Personnel et rôles',
      staffRows: await s.admin.store.listStaff(),
      roles: STAFF_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
      roleLabels: ROLE_LABELS,
      done: ctx.query.fait,
    });
  });
  router.post('/personnel', guard('admin'), recentSecondFactor, async (ctx) => {
    const form = readForm(ctx, z.object({ email: text, role: text, operation: text, motif: text }));
    const reason = form.motif.trim() || 'gestion des rôles';
    if (!isStaffRole(form.role) || !['attribuer', 'retirer'].includes(form.operation)) throw new HttpError(400, 'bad role');
    const who = actor(ctx, ['admin'], reason);
    const result =
      form.operation === 'attribuer'
        ? await s.admin.grantFromConsole(who, form.email, form.role, new Date())
        : await s.admin.revokeFromConsole(who, form.email, form.role, new Date());
    if (!result.ok) {
      return page(
        ctx,
        'admin/staff.njk',
        {
          title: 'Personnel et rôles',
          staffRows: await s.admin.store.listStaff(),
          roles: STAFF_ROLES.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
          roleLabels: ROLE_LABELS,
          error: 'Aucun compte GrandLyon Connect n’a cette adresse.',
          email: form.email,
        },
        400,
      );
    }
    ctx.status = 303;
    ctx.redirect('/admin/personnel?fait=1');
  });

  return router;
}

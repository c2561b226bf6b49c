// The state of an authorization in progress, shared by every page that takes part in it (login,
// consent, FranceConnect): what the page shows of the service, and how the interaction ends.
import type { Context } from 'koa';
import type { Interaction, InteractionResults } from 'oidc-provider';
import { allowFormTargets } from '../http/middleware.js';
import type { Services } from '../services.js';

/** What every interaction page shows about the service that sent the resident here. */
export async function interactionView(s: Services, ctx: Context) {
  const details = await s.provider.interactionDetails(ctx.req, ctx.res);
  // Forms of this interaction end, after redirects, on the service's redirect URI.
  allowFormTargets(ctx, [details.params.redirect_uri as string | undefined]);
  const clientId = String(details.params.client_id);
  const client = await s.clientStore.find(clientId);
  return {
    details,
    view: {
      uid: details.uid,
      client: client && { id: client.client_id, name: client.name, organisation: client.organisation, hasLogo: client.logo !== null },
    },
  };
}

/**
 * Ends the interaction and sends the browser back to the provider. Given the interaction this
 * request has read (interactionView), saves the result on it as the provider's interactionResult
 * does, without reading it from the database a second time.
 */
export async function finishInteraction(s: Services, ctx: Context, result: InteractionResults, read?: Interaction): Promise<void> {
  let returnTo: string;
  if (read) {
    read.result = result;
    await read.save(read.exp - Math.floor(Date.now() / 1000));
    returnTo = read.returnTo;
  } else {
    returnTo = await s.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  ctx.status = 303;
  ctx.redirect(returnTo);
}

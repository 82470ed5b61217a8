import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, InteractionResults, Provider } from 'oidc-provider';
import { isTesseraError } from '../../../errors.js';
import { type Authenticator, type Principal, SecondFactorRequired } from '../../../identity/authenticator.js';
import {
  formToken,
  formTokenMatches,
  grantConsent,
  passwordPassed,
  pendingBinding,
} from '../../../identity/oidc/interaction.js';
import { consentPage, errorPage, secondFactorPage, signInPage } from '../../../identity/oidc/pages.js';
import type { OidcTenant } from '../../../identity/oidc/service.js';
import type { PendingSignIns } from '../../../identity/pending-sign-in.js';
import type { SecondFactorProof } from '../../../identity/second-factor.js';
import { asIssuerRequest } from './issuer-request.js';

/** The interaction pages' policy: no script, no framing (a sign-in form is what clickjacking aims at). */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

export type InteractionRequest = FastifyRequest<{
  Params: { domain?: string; uid?: string };
  Body: Record<string, string> | undefined;
}>;

/** What a step needs: the tenant's issuer and provider, its cookie secret, and the password check. */
export interface StepInput {
  tenant: OidcTenant;
  issuer: URL;
  provider: Provider;
  cookieSecret: string;
  authenticator: Authenticator;
  /** Seals the principal that passed its password into the code page (never trusted from the client). */
  pendingSignIns: PendingSignIns;
}

/**
 * One step of a sign-in at a tenant's issuer: `show` renders the page the interaction is at (sign-in or
 * consent), `login` checks the posted name and password, `code` the second factor of an account with an
 * authenticator (its page shown after a right password), `consent` records the user's decision. The
 * interaction comes from its cookie (the provider's `interactionDetails`), a posted form must carry the
 * interaction's token, and each finished step hands the provider its result and redirects (303) to it.
 */
export async function interactionStep(
  request: InteractionRequest,
  reply: FastifyReply,
  step: 'show' | 'login' | 'code' | 'consent',
  input: StepInput,
) {
  const { tenant, issuer, provider } = input;
  reply.header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store');
  asIssuerRequest(request.raw, issuer, request.params.domain === undefined ? 1 : 3);
  let details: InteractionDetails | undefined;
  try {
    details = await provider.interactionDetails(request.raw, reply.raw);
  } catch {
    details = undefined;
  }
  if (!details || details.uid !== request.params.uid)
    return page(
      reply,
      400,
      errorPage('Sign-in expired', { error: 'This sign-in has expired: start again.' }),
    );
  const csrf = formToken(input.cookieSecret, details.uid);
  if (step !== 'show' && !formTokenMatches(input.cookieSecret, details.uid, request.body?.csrf))
    return page(
      reply,
      403,
      errorPage('Sign-in refused', { error: 'This form is not this sign-in’s: start again.' }),
    );
  const clientId = String(details.params.client_id ?? '');
  const client = await provider.Client.find(clientId);
  const clientName = client?.clientName ?? clientId;
  const action = `${issuer.pathname}/interaction/${details.uid}`;
  const finish = async (result: InteractionResults) => {
    const to = await provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: true,
    });
    return reply.status(303).header('location', to).send();
  };

  if (details.prompt.name === 'login') {
    const signIn = (status: number, error?: string, username?: string) =>
      page(
        reply,
        status,
        signInPage({
          action: `${action}/login`,
          csrf,
          tenant: tenant.domain,
          client: clientName,
          error,
          username,
        }),
      );
    const binding = pendingBinding(tenant.id, details.uid);
    const codePage = (status: number, pending: string, error?: string) =>
      page(
        reply,
        status,
        secondFactorPage({
          action: `${action}/code`,
          csrf,
          tenant: tenant.domain,
          client: clientName,
          pending,
          error,
        }),
      );
    const refused = (error: unknown, username?: string) => {
      // A locked account or address (429), a tenant this node does not serve yet (503): said on the page.
      if (!isTesseraError(error)) throw error;
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return signIn(error.httpStatus, error.message, username);
    };
    if (step === 'code') {
      const pending = input.pendingSignIns.open(request.body?.pending, binding);
      if (!pending) return signIn(400, 'This sign-in has expired: enter your password again.');
      const proof = proofOf(request.body);
      const token = String(request.body?.pending);
      if (!proof)
        return codePage(400, token, 'Enter the code your authenticator app shows, or a recovery code.');
      let principal: Principal;
      try {
        principal = await input.authenticator.completeSecondFactor(
          pending.principal,
          proof,
          { name: pending.principal.qualifiedName, address: request.ip, via: `oidc:${clientId}` },
          pending.passwordExpired,
        );
      } catch (error) {
        if (error instanceof SecondFactorRequired)
          return codePage(
            401,
            token,
            'The code is wrong or was already used: type the code your app shows now.',
          );
        return refused(error);
      }
      return finish(await passwordPassed(principal));
    }
    if (step !== 'login') return signIn(200);
    const username = String(request.body?.username ?? '');
    try {
      const principal = await input.authenticator.authenticateInTenant(tenant.domain, {
        name: username,
        password: String(request.body?.password ?? ''),
        address: request.ip,
        via: `oidc:${clientId}`,
      });
      if (!principal) return signIn(401, 'Invalid user name or password.', username);
      return finish(await passwordPassed(principal));
    } catch (error) {
      // The password passed; the account's second factor is asked on a page of its own.
      if (error instanceof SecondFactorRequired)
        return codePage(
          200,
          input.pendingSignIns.seal(
            { principal: error.principal, passwordExpired: error.passwordExpired },
            binding,
          ),
        );
      return refused(error, username);
    }
  }

  if (details.prompt.name === 'consent') {
    if (client?.first_party === true || (step === 'consent' && request.body?.decision === 'allow'))
      return finish({ consent: { grantId: await grantConsent(provider, details) } });
    if (step === 'consent')
      return finish({ error: 'access_denied', error_description: 'The user denied the request.' });
    const missing = details.prompt.details;
    return page(
      reply,
      200,
      consentPage({
        action: `${action}/consent`,
        csrf,
        client: clientName,
        user: details.session?.accountId ?? '',
        scopes: [...(missing.missingOIDCScope ?? []), ...(missing.missingOIDCClaims ?? [])],
      }),
    );
  }
  return page(reply, 400, errorPage('Sign-in failed', { error: `Unknown step ${details.prompt.name}.` }));
}

/** The code or the recovery code typed; `undefined` when neither was (or either is too long to be one). */
function proofOf(body: Record<string, string> | undefined): SecondFactorProof | undefined {
  const recoveryCode = String(body?.recovery ?? '').trim();
  const otp = String(body?.otp ?? '').trim();
  if (recoveryCode.length > 64 || otp.length > 16) return undefined;
  if (recoveryCode !== '') return { recoveryCode };
  if (otp !== '') return { otp };
  return undefined;
}

function page(reply: FastifyReply, status: number, html: string) {
  return reply.status(status).type('text/html; charset=utf-8').send(html);
}

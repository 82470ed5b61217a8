import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTesseraError, type TesseraError } from '../../../errors.js';
import { SUPER_TENANT_ID } from '../../../home/layout.js';
import type { AppSessions } from '../../../identity/app-sessions.js';
import { type Principal, SecondFactorRequired } from '../../../identity/authenticator.js';
import type { PendingSignIns } from '../../../identity/pending-sign-in.js';
import type { SecondFactorProof } from '../../../identity/second-factor.js';
import { displayName } from '../../../userstores/names.js';
import type { TenantDirectory } from '../../../webapps/deployer.js';
import { csrfCookie, csrfPassed, newCsrfToken } from './csrf.js';
import { sessionOf } from './gate.js';
import { type PageContent, sendPage } from './page.js';
import { safeReturnPath } from './return-path.js';
import { CSRF_COOKIE, SESSION_COOKIE, type SignInScope, setCookie, signInScope } from './scope.js';

/** Checks a name typed inside the tenant and its password (the `Authenticator`, via `app-sign-in`). */
export type PasswordCheck = (
  tenantDomain: string,
  name: string,
  password: string,
  address: string,
) => Promise<Principal | undefined>;

/** Checks the code of a sign-in whose password passed (`Authenticator.completeSecondFactor`). */
export type CodeCheck = (
  principal: Principal,
  proof: SecondFactorProof,
  address: string,
  passwordExpired: boolean,
) => Promise<Principal>;

export interface AppSignInOptions {
  tenants: TenantDirectory;
  sessions: AppSessions;
  /** Throws `SecondFactorRequired` for an account with an authenticator: its code is asked next. */
  checkPassword: PasswordCheck;
  checkCode: CodeCheck;
  /** Seals the principal that passed its password into the code form (never trusted from the client). */
  pendingSignIns: PendingSignIns;
  /** The super tenant's domain, shown on its page. */
  superTenantDomain: () => Promise<string>;
}

/** The most a form field may hold; longer is no user name or password anyone types. */
const MAX_FIELD = 1024;
const FORM_BODY_LIMIT = 16 * 1024;

interface Tenant {
  id: number;
  domain: string;
  scope: SignInScope;
}

type FormBody = Record<string, string | undefined>;

/**
 * The sign-in and sign-out pages of every tenant's apps (README, Signing in to apps):
 * `/t/{domain}/.tessera/sign-in` and `/sign-out`, the super tenant's at `/.tessera/...`. App names start
 * with a letter or digit, so `.tessera` is never an app, and the router prefers these static routes to the
 * apps' parametric ones.
 */
export async function registerAppSignIn(app: FastifyInstance, options: AppSignInOptions): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const pages = new SignInPages(options);
    for (const prefix of ['/.tessera', '/t/:domain/.tessera']) {
      scope.get(`${prefix}/sign-in`, { schema: { hide: true } }, (request, reply) =>
        pages.signInForm(request, reply),
      );
      scope.post(`${prefix}/sign-in`, { schema: { hide: true } }, (request, reply) =>
        pages.signIn(request, reply),
      );
      scope.post(`${prefix}/sign-in/code`, { schema: { hide: true } }, (request, reply) =>
        pages.signInCode(request, reply),
      );
      scope.get(`${prefix}/sign-out`, { schema: { hide: true } }, (request, reply) =>
        pages.signOutForm(request, reply),
      );
      scope.post(`${prefix}/sign-out`, { schema: { hide: true } }, (request, reply) =>
        pages.signOut(request, reply),
      );
    }
  });
}

class SignInPages {
  constructor(private readonly options: AppSignInOptions) {}

  async signInForm(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tenant = await this.tenant(request);
    if (!tenant) return notFound(reply);
    const query = request.query as Record<string, string | undefined>;
    const returnTo = safeReturnPath(query.return, tenant.scope);
    const current = await sessionOf(this.options.sessions, tenant.id, request.headers.cookie);
    if (current && returnTo) return reply.redirect(returnTo, 303);
    if (current) return this.signedIn(reply, tenant, displayName(current.user.store, current.user.username));
    const message = query['signed-out'] !== undefined ? 'You are signed out.' : undefined;
    return this.form(request, reply, tenant, 200, { returnTo, username: '', message });
  }

  async signIn(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tenant = await this.tenant(request);
    if (!tenant) return notFound(reply);
    const body = formBody(request);
    const returnTo = safeReturnPath(body.return, tenant.scope);
    const username = (body.username ?? '').slice(0, MAX_FIELD);
    if (!csrfPassed(request, body.csrf)) {
      return this.form(request, reply, tenant, 403, {
        returnTo,
        username,
        message: 'This form has expired or did not come from this site. Please sign in again.',
        problem: true,
      });
    }
    const password = body.password ?? '';
    if (username === '' || password === '' || password.length > MAX_FIELD) {
      return this.form(request, reply, tenant, 400, {
        returnTo,
        username,
        message: 'Enter your user name and password.',
        problem: true,
      });
    }
    let principal: Principal | undefined;
    try {
      principal = await this.options.checkPassword(tenant.domain, username, password, request.ip);
    } catch (error) {
      if (error instanceof SecondFactorRequired) {
        const pending = this.options.pendingSignIns.seal(
          { principal: error.principal, passwordExpired: error.passwordExpired },
          pendingBinding(tenant, csrfCookie(request) ?? ''),
        );
        return this.codeForm(request, reply, tenant, 200, { returnTo, pending });
      }
      const refused = this.refusal(request, reply, tenant, error, { returnTo, username });
      if (refused) return refused;
      throw error;
    }
    if (!principal) {
      return this.form(request, reply, tenant, 401, {
        returnTo,
        username,
        message: 'The user name or password is wrong.',
        problem: true,
      });
    }
    return this.startSession(request, reply, tenant, principal, returnTo);
  }

  /**
   * The second step for an account with an authenticator: the code (or a recovery code) with the sealed
   * pending sign-in the code form carries. The token opens only with the CSRF cookie it was sealed beside,
   * in this tenant, for five minutes; a sign-in that completes replaces that cookie, so the token is of no
   * further use. A wrong code is a failed login (the lockout counts it) and shows the code form again.
   */
  async signInCode(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tenant = await this.tenant(request);
    if (!tenant) return notFound(reply);
    const body = formBody(request);
    const returnTo = safeReturnPath(body.return, tenant.scope);
    if (!csrfPassed(request, body.csrf)) {
      return this.form(request, reply, tenant, 403, {
        returnTo,
        username: '',
        message: 'This form has expired or did not come from this site. Please sign in again.',
        problem: true,
      });
    }
    const pending = this.options.pendingSignIns.open(
      body.pending,
      pendingBinding(tenant, csrfCookie(request) ?? ''),
    );
    if (!pending) {
      return this.form(request, reply, tenant, 400, {
        returnTo,
        username: '',
        message: 'This sign-in has expired. Please sign in again.',
        problem: true,
      });
    }
    const username = displayName(pending.principal.store, pending.principal.username);
    const proof = proofOf(body);
    if (!proof) {
      return this.codeForm(request, reply, tenant, 400, {
        returnTo,
        pending: body.pending ?? '',
        message: 'Enter the code your authenticator app shows, or a recovery code.',
      });
    }
    let principal: Principal;
    try {
      principal = await this.options.checkCode(pending.principal, proof, request.ip, pending.passwordExpired);
    } catch (error) {
      if (error instanceof SecondFactorRequired) {
        return this.codeForm(request, reply, tenant, 401, {
          returnTo,
          pending: body.pending ?? '',
          message: 'The code is wrong or was already used. Type the code your app shows now.',
        });
      }
      const refused = this.refusal(request, reply, tenant, error, { returnTo, username });
      if (refused) return refused;
      throw error;
    }
    // A new CSRF cookie: the pending token was sealed beside the old one, and must not open again.
    this.setCsrfCookie(request, reply, tenant, newCsrfToken());
    return this.startSession(request, reply, tenant, principal, returnTo);
  }

  /** A lock (429) or a store not loaded yet (503) on the password form, with its wait; else `undefined`. */
  private refusal(
    request: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    error: unknown,
    shown: { returnTo: string | undefined; username: string },
  ): FastifyReply | undefined {
    if (!isTesseraError(error, 'TOO_MANY_ATTEMPTS') && !isTesseraError(error, 'STORE_UNAVAILABLE'))
      return undefined;
    const refused = error as TesseraError;
    const seconds = refused.retryAfterSeconds ?? 1;
    reply.header('retry-after', String(seconds));
    const message =
      refused.code === 'TOO_MANY_ATTEMPTS'
        ? `Too many failed sign-ins. Try again in ${readableWait(seconds)}.`
        : `Signing in is not available on this server yet. Try again in ${readableWait(seconds)}.`;
    return this.form(request, reply, tenant, refused.httpStatus, { ...shown, message, problem: true });
  }

  private codeForm(
    request: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    status: number,
    shown: { returnTo: string | undefined; pending: string; message?: string },
  ): FastifyReply {
    const csrf = this.csrf(request, reply, tenant);
    return sendPage(reply, status, {
      title: 'Two-factor sign-in',
      tenant: tenant.domain,
      message: shown.message ?? 'Enter the 6-digit code your authenticator app shows.',
      problem: shown.message !== undefined,
      form: {
        action: `${tenant.scope.pages}/sign-in/code`,
        csrf,
        returnTo: shown.returnTo,
        secondFactor: { pending: shown.pending },
        submit: 'Verify',
      },
    });
  }

  async signOutForm(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tenant = await this.tenant(request);
    if (!tenant) return notFound(reply);
    const query = request.query as Record<string, string | undefined>;
    return this.signOutPage(request, reply, tenant, 200, safeReturnPath(query.return, tenant.scope));
  }

  async signOut(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tenant = await this.tenant(request);
    if (!tenant) return notFound(reply);
    const body = formBody(request);
    const returnTo = safeReturnPath(body.return, tenant.scope);
    // A sign-out form posted from elsewhere (or an app's page) is not obeyed: the user is asked to confirm.
    if (!csrfPassed(request, body.csrf)) return this.signOutPage(request, reply, tenant, 403, returnTo);
    const current = await sessionOf(this.options.sessions, tenant.id, request.headers.cookie);
    if (current) await this.options.sessions.end(current.token);
    reply.header(
      'set-cookie',
      setCookie(SESSION_COOKIE, '', { ...this.cookieBase(request, tenant.scope.cookiePath), maxAge: 0 }),
    );
    const next = `${tenant.scope.pages}/sign-in?signed-out${returnTo ? `&return=${encodeURIComponent(returnTo)}` : ''}`;
    return reply.redirect(next, 303);
  }

  /**
   * The password passed: a new session (never one the browser brought), its cookie, and on to the app. A
   * session of this tenant the browser still held (another user before) ends: its cookie is overwritten, and
   * a session no cookie names any more must not stay usable by whoever copied it.
   */
  private async startSession(
    request: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    principal: Principal,
    returnTo: string | undefined,
  ): Promise<FastifyReply> {
    const previous = await sessionOf(this.options.sessions, tenant.id, request.headers.cookie);
    if (previous) await this.options.sessions.end(previous.token);
    const { token } = await this.options.sessions.create(principal, {
      address: request.ip,
      userAgent: request.headers['user-agent'] ?? '',
    });
    reply.header(
      'set-cookie',
      setCookie(SESSION_COOKIE, token, this.cookieBase(request, tenant.scope.cookiePath)),
    );
    return reply.redirect(returnTo ?? `${tenant.scope.pages}/sign-in`, 303);
  }

  private signedIn(reply: FastifyReply, tenant: Tenant, user: string): FastifyReply {
    return sendPage(reply, 200, {
      title: 'Signed in',
      tenant: tenant.domain,
      message: `You are signed in as ${user}.`,
      link: ['Sign out', `${tenant.scope.pages}/sign-out`],
    });
  }

  private async signOutPage(
    request: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    status: number,
    returnTo: string | undefined,
  ): Promise<FastifyReply> {
    const current = await sessionOf(this.options.sessions, tenant.id, request.headers.cookie);
    const csrf = this.csrf(request, reply, tenant);
    const content: PageContent = {
      title: 'Sign out',
      tenant: tenant.domain,
      message: current
        ? `Sign out ${displayName(current.user.store, current.user.username)} from every app of ${tenant.domain}?`
        : 'You are not signed in.',
      ...(current
        ? { form: { action: `${tenant.scope.pages}/sign-out`, csrf, returnTo, submit: 'Sign out' } }
        : { link: ['Sign in', `${tenant.scope.pages}/sign-in`] as [string, string] }),
    };
    return sendPage(reply, status, content);
  }

  private form(
    request: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    status: number,
    shown: {
      returnTo: string | undefined;
      username: string;
      message?: string;
      problem?: boolean;
    },
  ): FastifyReply {
    const csrf = this.csrf(request, reply, tenant);
    return sendPage(reply, status, {
      title: 'Sign in',
      tenant: tenant.domain,
      ...(shown.message ? { message: shown.message, problem: shown.problem ?? false } : {}),
      form: {
        action: `${tenant.scope.pages}/sign-in`,
        csrf,
        returnTo: shown.returnTo,
        credentials: { username: shown.username },
        submit: 'Sign in',
      },
    });
  }

  /**
   * The form's CSRF token: the one the browser holds (a form shown again after a refusal keeps working), or
   * a new one set as its cookie.
   */
  private csrf(request: FastifyRequest, reply: FastifyReply, tenant: Tenant): string {
    const held = csrfCookie(request);
    if (held) return held;
    return this.setCsrfCookie(request, reply, tenant, newCsrfToken());
  }

  private setCsrfCookie(request: FastifyRequest, reply: FastifyReply, tenant: Tenant, token: string): string {
    reply.header(
      'set-cookie',
      setCookie(CSRF_COOKIE, token, {
        ...this.cookieBase(request, `${tenant.scope.pages}/`),
        sameSite: 'Strict',
      }),
    );
    return token;
  }

  private cookieBase(request: FastifyRequest, path: string) {
    return { path, secure: request.protocol === 'https', sameSite: 'Lax' as const };
  }

  private async tenant(request: FastifyRequest): Promise<Tenant | undefined> {
    const domain = (request.params as { domain?: string }).domain;
    if (domain === undefined) {
      return {
        id: SUPER_TENANT_ID,
        domain: await this.options.superTenantDomain(),
        scope: signInScope(undefined),
      };
    }
    const id = await this.options.tenants.idOf(domain);
    return id === undefined ? undefined : { id, domain, scope: signInScope(domain) };
  }
}

/** The form's string fields; anything else (a JSON body's numbers, arrays) is as good as absent. */
function formBody(request: FastifyRequest): FormBody {
  const body = request.body;
  if (!body || typeof body !== 'object') return {};
  const fields: FormBody = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') fields[name] = value;
  return fields;
}

/**
 * What a pending sign-in's seal is bound to: the tenant, this page, and the browser's CSRF cookie (so a
 * token copied out of one browser is nothing in another, and nothing once a completed sign-in changed it).
 */
function pendingBinding(tenant: Tenant, csrfCookieValue: string): string {
  return `app-sign-in:${tenant.id}:${csrfCookieValue}`;
}

/** The code or the recovery code typed; `undefined` when neither was (or either is too long to be one). */
function proofOf(body: FormBody): SecondFactorProof | undefined {
  const recoveryCode = (body.recovery ?? '').trim();
  const otp = (body.otp ?? '').trim();
  if (recoveryCode.length > 64 || otp.length > 16) return undefined;
  if (recoveryCode !== '') return { recoveryCode };
  if (otp !== '') return { otp };
  return undefined;
}

/** `42 seconds`, `3 minutes`: the lockout's wait as people read it. */
function readableWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

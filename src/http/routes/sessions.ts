import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { Principal } from '../../identity/authenticator.js';
import type { SessionStore } from '../../identity/sessions.js';
import type { ServerContext } from '../context.js';
import { principalOf, sessionExpired } from '../plugins/authentication.js';
import { ErrorBody, errorResponses } from './schemas.js';

const SessionUser = Type.Object({
  name: Type.String({ description: '`[STORE/]name@tenant`' }),
  tenant: Type.String(),
  roles: Type.Array(Type.String()),
  isTenantAdmin: Type.Boolean(),
  isSuperAdmin: Type.Boolean(),
  mustEnrolSecondFactor: Type.Optional(
    Type.Boolean({
      description:
        'True when the tenant requires admins to use a second factor and this one has none: the session reaches only /me/totp until it is enrolled',
    }),
  ),
});

/** The second factor a login may carry (README, Two-factor sign-in), shared with `POST /authenticate`. */
export const SecondFactorFields = {
  otp: Type.Optional(
    Type.String({ maxLength: 16, description: "The current code of the account's authenticator app (TOTP)" }),
  ),
  recoveryCode: Type.Optional(
    Type.String({
      maxLength: 64,
      description: 'One of the recovery codes, instead of `otp`; each works once',
    }),
  ),
};

const SessionBody = Type.Object({
  token: Type.String({ description: 'Send as `Authorization: Bearer <token>` to every admin route' }),
  expiresAt: Type.String({ format: 'date-time', description: 'If unused until then' }),
  user: SessionUser,
});

function userOf(principal: Principal) {
  return {
    name: principal.qualifiedName,
    tenant: principal.tenantDomain,
    roles: principal.roles,
    isTenantAdmin: principal.isTenantAdmin,
    isSuperAdmin: principal.isSuperAdmin,
    ...(principal.mustEnrolSecondFactor ? { mustEnrolSecondFactor: true } : {}),
  };
}

/** `POST /sessions`: a password in, a Bearer token out (no admin auth: this is the login). */
export const sessionLoginRoutes: FastifyPluginAsyncTypebox<{
  context: ServerContext;
  sessions: SessionStore;
}> = async (app, { context, sessions }) => {
  app.addHook('onClose', async () => sessions.close());
  app.post(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary:
          'Log in (tenant admins and the super admin): a Bearer token for the admin API, kept in this node only, expiring when idle',
        description:
          'An account with an authenticator gets 401 `SECOND_FACTOR_REQUIRED` for its password alone, and a session with `otp` (or `recoveryCode`) beside it.',
        security: [],
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 600 }),
          password: Type.String({ maxLength: 1024 }),
          ...SecondFactorFields,
        }),
        response: { 201: SessionBody, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const principal = await context.authenticator.authenticate({
        name: request.body.username,
        password: request.body.password,
        address: request.ip,
        via: 'session',
        secondFactor: { otp: request.body.otp, recoveryCode: request.body.recoveryCode },
      });
      if (!principal) return sessionExpired(reply, 'Invalid credentials.');
      // The console is the only client of sessions, and everything in it needs an admin: anyone else
      // would hold a token good for nothing but `GET /sessions/current`.
      if (!principal.isTenantAdmin)
        throw new TesseraError(
          'FORBIDDEN',
          'Only tenant admins and the super admin can log in to the console; other users authenticate with POST /api/v1/authenticate.',
        );
      const tenant = await context.tenants.get(principal.tenantDomain);
      if (!tenant) return sessionExpired(reply, 'Invalid credentials.');
      const session = sessions.create(principal, { id: tenant.id, createdAt: tenant.createdAt });
      return reply.status(201).send({
        token: session.token,
        expiresAt: session.expiresAt.toISOString(),
        user: userOf(principal),
      });
    },
  );
};

/** The caller's own session, behind the admin API's authentication. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionStore }> = async (
  app,
  { sessions },
) => {
  app.get(
    '/sessions/current',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Who the caller is (Bearer or Basic)',
        response: { 200: SessionUser, ...errorResponses },
      },
    },
    async (request) => userOf(principalOf(request)),
  );

  app.delete(
    '/sessions/current',
    {
      schema: {
        tags: ['sessions'],
        summary: "Log out: the request's Bearer token stops working",
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (request.sessionToken) sessions.revoke(request.sessionToken);
      return reply.status(204).send(null);
    },
  );
};

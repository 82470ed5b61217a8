import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { Principal } from '../../identity/authenticator.js';
import type { SessionStore } from '../../identity/sessions.js';
import { parseStoreName } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const Status = Type.Object({
  state: Type.Union([Type.Literal('none'), Type.Literal('pending'), Type.Literal('active')], {
    description: '`pending`: begun, waiting for its first code (POST /me/totp/confirm)',
  }),
  recoveryCodesLeft: Type.Integer(),
  requiredForAdmins: Type.Boolean({ description: 'The caller is an admin of a tenant that requires it' }),
});

const Enrolment = Type.Object({
  secret: Type.String({ description: 'The key in base32, to type into an authenticator app' }),
  uri: Type.String({ description: 'The same as an `otpauth://totp/...` URI, for a QR code' }),
  digits: Type.Integer(),
  period: Type.Integer({ description: 'Seconds per code' }),
});

const RecoveryCodes = Type.Object({
  recoveryCodes: Type.Array(Type.String(), {
    description: 'Shown this once: each signs in once instead of a code, when the phone is lost',
  }),
});

const Otp = Type.String({ minLength: 6, maxLength: 16, description: "The authenticator's current code" });

/**
 * The caller's own authenticator (README, Two-factor sign-in): status, begin, confirm, disable, new recovery
 * codes; and an admin's reset of another user's in their tenant.
 */
export const totpRoutes: FastifyPluginAsyncTypebox<{
  context: ServerContext;
  sessions: SessionStore;
}> = async (app, { context, sessions }) => {
  const factor = context.secondFactor;
  /** After a change, whether this admin's sessions are limited to enrolment follows whether they have one. */
  const limitSessions = async (principal: Principal) => {
    const status = await factor.status(principal);
    const limited = status.requiredForAdmins && status.state !== 'active';
    sessions.updateUser(principal.tenantId, principal.store, principal.username, (p) => {
      const { mustEnrolSecondFactor: _, ...rest } = p;
      return limited ? { ...rest, mustEnrolSecondFactor: true } : rest;
    });
  };

  app.get(
    '/me/totp',
    {
      schema: {
        tags: ['two-factor'],
        summary: "The caller's authenticator: none, pending or active, and recovery codes left",
        response: { 200: Status, ...errorResponses },
      },
    },
    async (request) => factor.status(principalOf(request)),
  );

  app.post(
    '/me/totp',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Begin enrolling an authenticator: a new secret, not active until confirmed with a code',
        response: { 201: Enrolment, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await factor.begin(principalOf(request))),
  );

  app.post(
    '/me/totp/confirm',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'Activate the authenticator with its current code; answers the recovery codes, shown once',
        body: Type.Object({ otp: Otp }, { additionalProperties: false }),
        response: { 200: RecoveryCodes, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const recoveryCodes = await factor.confirm(principal, request.body.otp);
      await context.audit.record(principal.tenantId, principal, 'totp.enrol', principal.qualifiedName, {
        address: request.ip,
      });
      await limitSessions(principal);
      return { recoveryCodes };
    },
  );

  app.delete(
    '/me/totp',
    {
      schema: {
        tags: ['two-factor'],
        summary: "Disable the caller's authenticator: send its current code or the password",
        body: Type.Object(
          { otp: Type.Optional(Otp), password: Type.Optional(Type.String({ maxLength: 1024 })) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { otp, password } = request.body ?? {};
      const proven = otp
        ? await context.authenticator.confirmCode(principal, otp, request.ip)
        : password !== undefined &&
          (await context.authenticator.confirmPassword(principal, password, request.ip));
      if (!proven)
        throw new TesseraError(
          'FORBIDDEN',
          'Disabling the authenticator needs its current code (`otp`) or your password (`password`).',
        );
      if (!(await factor.remove(principal.tenantId, principal.store, principal.username)))
        throw new TesseraError('NOT_FOUND', 'You have no authenticator.');
      await context.audit.record(principal.tenantId, principal, 'totp.disable', principal.qualifiedName, {
        proof: otp ? 'otp' : 'password',
      });
      await limitSessions(principal);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/me/totp/recovery-codes',
    {
      schema: {
        tags: ['two-factor'],
        summary: 'New recovery codes (the old ones stop working), shown once; needs a current code',
        body: Type.Object({ otp: Otp }, { additionalProperties: false }),
        response: { 200: RecoveryCodes, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (!(await context.authenticator.confirmCode(principal, request.body.otp, request.ip)))
        throw new TesseraError(
          'FORBIDDEN',
          'The code is wrong or was already used, or no authenticator is active.',
        );
      const recoveryCodes = await factor.regenerateRecoveryCodes(principal);
      await context.audit.record(
        principal.tenantId,
        principal,
        'totp.recovery-codes',
        principal.qualifiedName,
      );
      return { recoveryCodes };
    },
  );

  app.delete(
    '/tenants/:domain/users/:username/totp',
    {
      schema: {
        tags: ['two-factor'],
        summary: "Reset a user's authenticator (a lost phone): they sign in with the password alone again",
        params: Type.Object({
          domain: Type.String({ minLength: 1, maxLength: 253 }),
          username: Type.String({ minLength: 1, maxLength: 400, description: '`name` or `STORE/name`' }),
        }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = parseStoreName(request.params.username, tenant.domain);
      if (!(await factor.remove(tenant.id, store, name)))
        throw new TesseraError(
          'NOT_FOUND',
          `${request.params.username} has no authenticator in ${tenant.domain}.`,
        );
      // Sessions are admins' only: where the tenant requires a second factor of them, theirs shrink to enrolment.
      if ((await context.secondFactorSettings.policy(tenant.id)).requiredForAdmins)
        sessions.updateUser(tenant.id, store, name, (p) => ({ ...p, mustEnrolSecondFactor: true }));
      await context.audit.record(tenant.id, principal, 'totp.reset', request.params.username);
      return reply.status(204).send(null);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { ErrorBody } from './schemas.js';
import { SecondFactorFields } from './sessions.js';

export const authenticateRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.post(
    '/authenticate',
    {
      schema: {
        tags: ['authentication'],
        summary:
          "Check a user's password: `alice`, `alice@acme.com` or `SECONDARY/alice@acme.com` (no admin auth)",
        description:
          'A user with an authenticator gets 401 `SECOND_FACTOR_REQUIRED` for the password alone; send its current code as `otp` (or a recovery code as `recoveryCode`).',
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 600 }),
          password: Type.String({ maxLength: 1024 }),
          ...SecondFactorFields,
        }),
        response: {
          200: Type.Object({
            tenant: Type.String(),
            user: Type.String({ description: 'The name inside the tenant: `name` or `STORE/name`' }),
            store: Type.String(),
            roles: Type.Array(Type.String()),
          }),
          400: ErrorBody,
          401: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request) => {
      const principal = await context.authenticator.authenticate({
        name: request.body.username,
        password: request.body.password,
        address: request.ip,
        via: 'authenticate',
        secondFactor: { otp: request.body.otp, recoveryCode: request.body.recoveryCode },
      });
      // One answer for every failure: which part was wrong is never told.
      if (!principal) throw new TesseraError('UNAUTHENTICATED', 'Invalid credentials.');
      return {
        tenant: principal.tenantDomain,
        user: principal.qualifiedName.slice(0, principal.qualifiedName.lastIndexOf('@')),
        store: principal.store,
        roles: principal.roles,
      };
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { SessionStore } from '../../identity/sessions.js';
import { displayName } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';
import { ErrorBody } from './schemas.js';

/**
 * `POST /password`: a user changes their own password with the current one (README, Password policy), the
 * way out of PASSWORD_EXPIRED without an admin. The current password is checked by the `Authenticator`
 * like any login, so the lockout counts a wrong one and refuses a locked account; the new password
 * follows the tenant's policy.
 */
export const passwordChangeRoutes: FastifyPluginAsyncTypebox<{
  context: ServerContext;
  /** The user's console sessions end with the old password. */
  sessions: SessionStore;
}> = async (app, { context, sessions }) => {
  app.post(
    '/password',
    {
      schema: {
        tags: ['authentication'],
        summary: 'Change your own password, expired or not, with the current one (no admin auth)',
        security: [],
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 600 }),
          currentPassword: Type.String({ maxLength: 1024 }),
          newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        response: {
          204: Type.Null(),
          400: ErrorBody,
          401: ErrorBody,
          409: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { username, currentPassword, newPassword } = request.body;
      const principal = await context.authenticator.authenticate({
        name: username,
        password: currentPassword,
        address: request.ip,
        via: 'password',
        allowExpired: true,
      });
      if (!principal) throw new TesseraError('UNAUTHENTICATED', 'Invalid credentials.');
      // A password the user already has would restart its age without changing anything.
      if (newPassword.normalize('NFC') === currentPassword.normalize('NFC'))
        throw new TesseraError('PASSWORD_POLICY', 'The new password must differ from the current one.');
      const store = context.stores.store(principal.tenantId, principal.store);
      if (!store)
        throw new TesseraError('STORE_UNAVAILABLE', `Store ${principal.store} is not available; try again.`, {
          retryAfterSeconds: 1,
        });
      await context.passwordPolicies.assertAllowed(
        principal.tenantId,
        principal.tenantDomain,
        newPassword,
        principal.username,
      );
      // A read-only store throws READ_ONLY_STORE (409): its passwords are changed where they live.
      if (!(await store.setPassword(principal.username, newPassword)))
        throw new TesseraError('UNAUTHENTICATED', 'Invalid credentials.');
      sessions.revokeUser(principal.tenantId, store.domain, principal.username);
      await context.audit.record(
        principal.tenantId,
        principal,
        'password.change',
        displayName(store.domain, principal.username),
      );
      return reply.status(204).send(null);
    },
  );
};

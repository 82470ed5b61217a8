import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import { displayName, parseStoreName } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const SessionBody = Type.Object({
  id: Type.String(),
  user: Type.String({ description: '`name` or `STORE/name` inside the tenant' }),
  store: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.String({ format: 'date-time', description: 'Written at most once a minute' }),
  expiresAt: Type.String({
    format: 'date-time',
    description: 'The earlier of the idle and the absolute end',
  }),
  address: Type.String({ description: 'The client address that signed in' }),
  userAgent: Type.String(),
});
const UserParams = Type.Object({
  domain: DomainParams.properties.domain,
  username: Type.String({ minLength: 1 }),
});

/** Sessions of users signed in to a tenant's apps (README, Signing in to apps): listed and ended. */
export const appSessionRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const sessions = context.appSessions;

  app.get(
    '/tenants/:domain/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: "The tenant's live app sessions, newest first (`?user=` for one user's)",
        params: DomainParams,
        querystring: Type.Object({ user: Type.Optional(Type.String({ minLength: 1 })) }),
        response: { 200: Type.Object({ sessions: Type.Array(SessionBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const { user } = request.query;
      const only = user === undefined ? undefined : parseStoreName(user, tenant.domain);
      return {
        sessions: await sessions.list(tenant.id, only && { store: only.store, username: only.name }),
      };
    },
  );

  app.delete(
    '/tenants/:domain/sessions/:id',
    {
      schema: {
        tags: ['sessions'],
        summary: 'End one app session: its cookie no longer signs in, on every node within 5 s',
        params: Type.Object({ domain: DomainParams.properties.domain, id: Type.String({ minLength: 1 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      if (!(await sessions.endById(tenant.id, request.params.id)))
        throw new TesseraError('NOT_FOUND', `No app session ${request.params.id} in ${tenant.domain}.`);
      await context.audit.record(tenant.id, principal, 'session.end', request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/tenants/:domain/users/:username/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'End every app session of one user (`name` or `STORE/name`); answers how many ended',
        params: UserParams,
        response: { 200: Type.Object({ ended: Type.Integer() }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = parseStoreName(request.params.username, tenant.domain);
      const ended = await sessions.endUser(tenant.id, store, name);
      await context.audit.record(tenant.id, principal, 'session.end', displayName(store, name), { ended });
      return { ended };
    },
  );
};

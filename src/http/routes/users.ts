import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { SessionStore } from '../../identity/sessions.js';
import type { ServerContext } from '../context.js';
import { pageOfTenantStores } from './paging.js';
import { DomainParams, errorResponses, PageQuery, UserBody } from './schemas.js';
import { managedTenant, storeFor, userView } from './scope.js';

const UserParams = Type.Object({
  domain: Type.String(),
  username: Type.String({ minLength: 1, maxLength: 400 }),
});
const RoleNames = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 200 });

export const userRoutes: FastifyPluginAsyncTypebox<{
  context: ServerContext;
  /** Console sessions, ended for a user deleted, given other roles or a new password. */
  sessions?: SessionStore;
}> = async (app, { context, sessions }) => {
  app.post(
    '/tenants/:domain/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Add a user; `username` may carry a store prefix (SECONDARY/alice)',
        params: DomainParams,
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 400 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          roles: Type.Optional(RoleNames),
          attributes: Type.Optional(
            Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 1_000_000 })),
          ),
        }),
        response: { 201: UserBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.body.username);
      await context.passwordPolicies.assertAllowed(tenant.id, tenant.domain, request.body.password, name);
      const user = await store.addUser({
        username: name,
        password: request.body.password,
        roles: request.body.roles ?? [],
        attributes: request.body.attributes ?? {},
      });
      await context.audit.record(tenant.id, principal, 'user.create', request.body.username);
      return reply.status(201).send(userView(store, user));
    },
  );

  app.get(
    '/tenants/:domain/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users, from one store (`store`) or from all, PRIMARY first',
        params: DomainParams,
        querystring: PageQuery,
        response: {
          200: Type.Object({ users: Type.Array(UserBody), limit: Type.Integer(), offset: Type.Integer() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const { limit, offset } = request.query;
      const page = await pageOfTenantStores(context, tenant, request.query, (store, p) => store.listUsers(p));
      return { users: page.map(({ store, item }) => userView(store, item)), limit, offset };
    },
  );

  app.get(
    '/tenants/:domain/users/:username',
    { schema: { tags: ['users'], params: UserParams, response: { 200: UserBody, ...errorResponses } } },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.username);
      const user = await store.getUser(name);
      if (!user)
        throw new TesseraError('NOT_FOUND', `No user ${request.params.username} in ${tenant.domain}.`);
      return userView(store, user);
    },
  );

  app.delete(
    '/tenants/:domain/users/:username',
    { schema: { tags: ['users'], params: UserParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.username);
      if (!(await store.deleteUser(name))) {
        throw new TesseraError('NOT_FOUND', `No user ${request.params.username} in ${tenant.domain}.`);
      }
      sessions?.revokeUser(tenant.id, store.domain, name);
      await context.appSessions.endUser(tenant.id, store.domain, name);
      // A user created again under this name must not inherit the deleted one's authenticator.
      await context.secondFactor.remove(tenant.id, store.domain, name);
      await context.audit.record(tenant.id, principal, 'user.delete', request.params.username);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/tenants/:domain/users/:username/roles',
    {
      schema: {
        tags: ['users'],
        summary: "Replace a user's roles (roles of the user's own store)",
        params: UserParams,
        body: Type.Object({ roles: RoleNames }),
        response: { 200: UserBody, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.username);
      const roles = request.body.roles
        .map((role) => storeFor(context, tenant, role))
        .map(({ store: s, name: n }) => {
          if (s !== store)
            throw new TesseraError(
              'BAD_REQUEST',
              `Role ${n} is in store ${s.domain}, the user in ${store.domain}.`,
            );
          return n;
        });
      if (!(await store.setUserRoles(name, roles))) {
        throw new TesseraError('NOT_FOUND', `No user ${request.params.username} in ${tenant.domain}.`);
      }
      sessions?.revokeUser(tenant.id, store.domain, name);
      await context.appSessions.refreshUser(tenant.id, store.domain, name);
      await context.audit.record(tenant.id, principal, 'user.roles', request.params.username, { roles });
      return userView(
        store,
        (await store.getUser(name)) as NonNullable<Awaited<ReturnType<typeof store.getUser>>>,
      );
    },
  );

  app.put(
    '/tenants/:domain/users/:username/password',
    {
      schema: {
        tags: ['users'],
        summary: "Reset a user's password",
        params: UserParams,
        body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.username);
      await context.passwordPolicies.assertAllowed(tenant.id, tenant.domain, request.body.password, name);
      if (!(await store.setPassword(name, request.body.password))) {
        throw new TesseraError('NOT_FOUND', `No user ${request.params.username} in ${tenant.domain}.`);
      }
      sessions?.revokeUser(tenant.id, store.domain, name);
      await context.appSessions.endUser(tenant.id, store.domain, name);
      await context.audit.record(tenant.id, principal, 'user.password', request.params.username);
      return reply.status(204).send(null);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import { displayName } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';
import { pageOfTenantStores } from './paging.js';
import { DomainParams, errorResponses, PageQuery, RoleBody } from './schemas.js';
import { managedTenant, storeFor } from './scope.js';

const RoleParams = Type.Object({
  domain: Type.String(),
  name: Type.String({ minLength: 1, maxLength: 400 }),
});

export const roleRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (app, { context }) => {
  app.post(
    '/tenants/:domain/roles',
    {
      schema: {
        tags: ['roles'],
        summary: 'Add a role, optionally with members; `name` may carry a store prefix',
        params: DomainParams,
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 400 }),
          users: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 400 }), { maxItems: 1000 })),
        }),
        response: { 201: RoleBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.body.name);
      const users = (request.body.users ?? []).map((user) => {
        const member = storeFor(context, tenant, user);
        if (member.store !== store)
          throw new TesseraError('BAD_REQUEST', `User ${user} is not in store ${store.domain}.`);
        return member.name;
      });
      await store.addRole(name, users);
      await context.audit.record(tenant.id, principal, 'role.create', request.body.name);
      const role = await store.getRole(name);
      return reply.status(201).send(roleView(store.domain, role as NonNullable<typeof role>));
    },
  );

  app.get(
    '/tenants/:domain/roles',
    {
      schema: {
        tags: ['roles'],
        params: DomainParams,
        querystring: PageQuery,
        response: { 200: Type.Object({ roles: Type.Array(Type.String()) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const page = await pageOfTenantStores(context, tenant, request.query, (store, p) => store.listRoles(p));
      return { roles: page.map(({ store, item }) => displayName(store.domain, item)) };
    },
  );

  app.get(
    '/tenants/:domain/roles/:name',
    { schema: { tags: ['roles'], params: RoleParams, response: { 200: RoleBody, ...errorResponses } } },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.name);
      const role = await store.getRole(name);
      if (!role) throw new TesseraError('NOT_FOUND', `No role ${request.params.name} in ${tenant.domain}.`);
      return roleView(store.domain, role);
    },
  );

  app.delete(
    '/tenants/:domain/roles/:name',
    { schema: { tags: ['roles'], params: RoleParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const { store, name } = storeFor(context, tenant, request.params.name);
      if (!(await store.deleteRole(name)))
        throw new TesseraError('NOT_FOUND', `No role ${request.params.name} in ${tenant.domain}.`);
      await context.audit.record(tenant.id, principal, 'role.delete', request.params.name);
      return reply.status(204).send(null);
    },
  );
};

function roleView(store: string, role: { name: string; users: string[]; system: boolean }) {
  return {
    name: displayName(store, role.name),
    store,
    users: role.users.map((user) => displayName(store, user)),
    system: role.system,
  };
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TesseraError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses, StoreBody } from './schemas.js';
import { managedTenant } from './scope.js';

export const userStoreRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.post(
    '/tenants/:domain/userstores',
    {
      schema: {
        tags: ['userstores'],
        summary: "Add a secondary user store; writes its file under the tenant's userstores/ folder",
        params: DomainParams,
        body: Type.Object({
          domain: Type.String({ minLength: 1, maxLength: 64 }),
          type: Type.Union([Type.Literal('jdbc'), Type.Literal('ldap')]),
          url: Type.String({ minLength: 1, maxLength: 2048 }),
          readOnly: Type.Optional(Type.Boolean()),
          description: Type.Optional(Type.String({ maxLength: 1024 })),
        }),
        response: { 201: StoreBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const store = await context.stores.createStore(tenant.id, {
        domain: request.body.domain,
        type: request.body.type,
        url: request.body.url,
        readOnly: request.body.readOnly ?? false,
        description: request.body.description,
      });
      await context.audit.record(tenant.id, principal, 'userstore.create', store.domain, {
        type: store.type,
      });
      return reply.status(201).send(store);
    },
  );

  app.get(
    '/tenants/:domain/userstores',
    {
      schema: {
        tags: ['userstores'],
        params: DomainParams,
        response: { 200: Type.Object({ userstores: Type.Array(StoreBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return { userstores: context.stores.describe(tenant.id) };
    },
  );

  app.delete(
    '/tenants/:domain/userstores/:store',
    {
      schema: {
        tags: ['userstores'],
        summary: "Remove a secondary store's definition; its database is left as it is",
        params: Type.Object({ domain: Type.String(), store: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const domain = request.params.store.toUpperCase();
      if (!context.stores.describe(tenant.id).some((s) => s.domain === domain && s.type !== 'primary')) {
        throw new TesseraError('NOT_FOUND', `Tenant ${tenant.domain} has no secondary store ${domain}.`);
      }
      await context.stores.deleteStore(tenant.id, domain);
      await context.audit.record(tenant.id, principal, 'userstore.delete', domain);
      return reply.status(204).send(null);
    },
  );
};

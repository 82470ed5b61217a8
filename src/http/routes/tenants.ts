import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SUPER_TENANT_ID } from '../../home/layout.js';
import { assertCanManage, assertSuperAdmin } from '../../identity/authenticator.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { DomainParams, errorResponses, TenantBody } from './schemas.js';

export const tenantRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const { tenants, audit } = context;

  app.post(
    '/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant with its admin user (super tenant admin only)',
        body: Type.Object({
          domain: Type.String({ minLength: 3, maxLength: 253 }),
          adminPassword: Type.String({ minLength: 1, maxLength: 1024 }),
          adminUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        }),
        response: { 201: TenantBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      // The tenant has no policy of its own yet: the server's (the super tenant's) applies to its admin.
      await context.passwordPolicies.assertAllowed(
        SUPER_TENANT_ID,
        request.body.domain,
        request.body.adminPassword,
        request.body.adminUsername ?? 'admin',
      );
      const tenant = await tenants.create(request.body);
      await audit.record(tenant.id, principal, 'tenant.create', tenant.domain);
      return reply.status(201).send(tenant);
    },
  );

  app.get(
    '/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'List the tenants the caller may see',
        response: { 200: Type.Object({ tenants: Type.Array(TenantBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const all = await tenants.list();
      return {
        tenants: principal.isSuperAdmin
          ? all
          : all.filter((t) => t.id === principal.tenantId && principal.isTenantAdmin),
      };
    },
  );

  app.get(
    '/tenants/:domain',
    { schema: { tags: ['tenants'], params: DomainParams, response: { 200: TenantBody, ...errorResponses } } },
    async (request) => {
      assertCanManage(principalOf(request), request.params.domain);
      return tenants.require(request.params.domain);
    },
  );

  app.patch(
    '/tenants/:domain',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Activate or deactivate a tenant (super tenant admin only)',
        params: DomainParams,
        body: Type.Object({ active: Type.Boolean() }),
        response: { 200: TenantBody, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      const tenant = await tenants.setActive(request.params.domain, request.body.active);
      await audit.record(
        tenant.id,
        principal,
        request.body.active ? 'tenant.activate' : 'tenant.deactivate',
        tenant.domain,
      );
      return tenant;
    },
  );

  app.delete(
    '/tenants/:domain',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Delete a tenant; its folder is moved under backups/ (super tenant admin only)',
        params: DomainParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      const tenant = await tenants.require(request.params.domain);
      await tenants.delete(tenant.domain);
      await audit.record(tenant.id, principal, 'tenant.delete', tenant.domain);
      return reply.status(204).send(null);
    },
  );
};

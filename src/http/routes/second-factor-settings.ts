import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const Policy = Type.Object({
  requiredForAdmins: Type.Boolean({
    description:
      'Admins without an authenticator may sign in to the console only to enrol one, and not over HTTP Basic',
  }),
});

/** A tenant's second-factor policy (README, Two-factor sign-in), read and set by its admin. */
export const secondFactorSettingsRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const route = '/tenants/:domain/settings/second-factor';

  app.get(
    route,
    {
      schema: {
        tags: ['two-factor'],
        summary: "The tenant's second-factor policy",
        params: DomainParams,
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return context.secondFactorSettings.policy(tenant.id);
    },
  );

  app.put(
    route,
    {
      schema: {
        tags: ['two-factor'],
        summary: "Set the tenant's second-factor policy",
        description: 'Holds from the next login: sessions already open keep what they had.',
        params: DomainParams,
        body: Type.Object(
          { requiredForAdmins: Policy.properties.requiredForAdmins },
          { additionalProperties: false },
        ),
        response: { 200: Policy, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const policy = { requiredForAdmins: request.body.requiredForAdmins };
      await context.secondFactorSettings.write(tenant.id, policy, principal.qualifiedName);
      await context.audit.record(tenant.id, principal, 'settings.second_factor', tenant.domain, policy);
      return policy;
    },
  );
};

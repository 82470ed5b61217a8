import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  MAX_MAX_AGE_DAYS,
  PASSWORD_POLICY_SETTING,
  parsePasswordPolicy,
} from '../../tenants/password-policy.js';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const MAX_AGE_DESCRIPTION =
  'Days a PRIMARY store password may be used before a login answers 403 PASSWORD_EXPIRED; null: no maximum';

const PolicyFields = {
  minLength: Type.Integer({ minimum: 8, maximum: 128, description: 'Characters at least' }),
  requiredClasses: Type.Integer({
    minimum: 0,
    maximum: 4,
    description: 'How many of lower case, upper case, digits and other characters must appear',
  }),
  refuseCommon: Type.Boolean({ description: 'Refuse the passwords at the top of leaked-password lists' }),
  refuseUsername: Type.Boolean({
    description: 'Refuse the user name as a password, alone or with fewer than 4 other characters',
  }),
  maxAgeDays: Type.Union([Type.Integer({ minimum: 1, maximum: MAX_MAX_AGE_DAYS }), Type.Null()], {
    description: MAX_AGE_DESCRIPTION,
  }),
};

const PolicyAnswer = Type.Object({
  policy: Type.Object(PolicyFields),
  from: Type.Union([Type.Literal('tenant'), Type.Literal('server'), Type.Literal('default')], {
    description:
      "Whose policy is in force: the tenant's own, the server's (the super tenant's), or the built-in default",
  }),
});

/**
 * A tenant's password policy (README, Password policy): read, set and reset by its admin (the super
 * tenant's is the server's default). Checked by every route that sets a password.
 */
export const passwordPolicyRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const route = '/tenants/:domain/settings/password-policy';

  app.get(
    route,
    {
      schema: {
        tags: ['tenants'],
        summary: "The tenant's password policy in force, and whose it is",
        params: DomainParams,
        response: { 200: PolicyAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return context.passwordPolicies.policyFor(tenant.id);
    },
  );

  app.put(
    route,
    {
      schema: {
        tags: ['tenants'],
        summary: "Set the tenant's password policy (fields left out take the built-in defaults)",
        description:
          'Applies to passwords set from now on (users created, passwords reset, a new tenant admin for the ' +
          "super tenant's policy); existing passwords are not checked again.",
        params: DomainParams,
        body: Type.Object(
          {
            // Ranges checked by the policy's parser, whose refusal names the rule as every other one does
            // ("Password policy minLength must be ..."), rather than the validator's "body/minLength must be".
            minLength: Type.Optional(Type.Integer({ description: 'Characters at least, 8 to 128' })),
            requiredClasses: Type.Optional(
              Type.Integer({ description: 'How many of lower case, upper case, digits and others, 0 to 4' }),
            ),
            refuseCommon: Type.Optional(PolicyFields.refuseCommon),
            refuseUsername: Type.Optional(PolicyFields.refuseUsername),
            // Unknown to the validator, which coerces types (a null would become 0, a 0 null): the
            // policy's parser checks it.
            maxAgeDays: Type.Optional(Type.Unknown({ description: MAX_AGE_DESCRIPTION })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PolicyAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      const policy = parsePasswordPolicy(request.body);
      await context.settings.write(tenant.id, PASSWORD_POLICY_SETTING, policy, principal.qualifiedName);
      await context.audit.record(tenant.id, principal, 'settings.password_policy', tenant.domain, policy);
      return context.passwordPolicies.policyFor(tenant.id);
    },
  );

  app.delete(
    route,
    {
      schema: {
        tags: ['tenants'],
        summary: "Remove the tenant's own password policy: the server's (or the built-in) applies again",
        params: DomainParams,
        response: { 200: PolicyAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      await context.settings.remove(tenant.id, PASSWORD_POLICY_SETTING);
      await context.audit.record(tenant.id, principal, 'settings.password_policy', tenant.domain, null);
      return context.passwordPolicies.policyFor(tenant.id);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_RETENTION_DAYS } from '../../identity/audit-retention.js';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

const RetentionAnswer = Type.Object({
  days: Type.Union([Type.Integer(), Type.Null()], { description: 'null: entries are kept for ever' }),
  source: Type.Union([Type.Literal('tenant'), Type.Literal('server'), Type.Literal('default')], {
    description: "tenant: its own setting; server: the super tenant's; default: none set (kept for ever)",
  }),
});

/** How long a tenant's audit entries are kept (README, Audit trail): read, set, and back to the server's. */
export const auditRetentionRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const route = '/tenants/:domain/settings/audit-retention';

  app.get(
    route,
    {
      schema: {
        tags: ['audit'],
        summary: "The tenant's audit retention in force, and whose it is",
        params: DomainParams,
        response: { 200: RetentionAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      return context.auditRetention.effective(tenant.id);
    },
  );

  app.put(
    route,
    {
      schema: {
        tags: ['audit'],
        summary: `Keep the tenant's audit entries this many days (1 to ${MAX_RETENTION_DAYS}), or for ever (null)`,
        description:
          "Older entries are deleted by a periodic job on every node (every 10 minutes); the super tenant's setting is the default of every tenant without one.",
        params: DomainParams,
        // Unknown to the validator, which coerces types (a null would become 0, a 0 null): parseRetention checks.
        body: Type.Object({ days: Type.Unknown({ description: 'Whole days, or null: kept for ever' }) }),
        response: { 200: RetentionAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      await context.auditRetention.write(tenant.id, request.body, principal.qualifiedName);
      await context.audit.record(
        tenant.id,
        principal,
        'settings.audit_retention',
        tenant.domain,
        request.body,
      );
      return context.auditRetention.effective(tenant.id);
    },
  );

  app.delete(
    route,
    {
      schema: {
        tags: ['audit'],
        summary: "Remove the tenant's own retention: the server's (or keeping for ever) applies again",
        params: DomainParams,
        response: { 200: RetentionAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { tenant, principal } = await managedTenant(context, request, request.params.domain);
      await context.auditRetention.remove(tenant.id);
      await context.audit.record(tenant.id, principal, 'settings.audit_retention', tenant.domain, null);
      return context.auditRetention.effective(tenant.id);
    },
  );
};

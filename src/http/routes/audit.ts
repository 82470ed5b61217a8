import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServerContext } from '../context.js';
import { DomainParams, errorResponses } from './schemas.js';
import { managedTenant } from './scope.js';

/** The most entries one page holds. */
const MAX_AUDIT_PAGE = 500;

const AuditEntryBody = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'Who: the principal of a change, the name as typed for a login' }),
  action: Type.String({
    description: '`tenant.create`, `user.create`, `login.failure`, `lockout.clear`, ...',
  }),
  target: Type.String({
    description: 'What; for a login the path: `authenticate`, `basic`, `session`, `app:<name>`',
  }),
  detail: Type.Unknown({ description: 'JSON; for a login `{reason, store, address}`' }),
});

/** `GET /tenants/{domain}/audit`: the tenant's audit trail, newest first, a page at a time. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.get(
    '/tenants/:domain/audit',
    {
      schema: {
        tags: ['audit'],
        summary: "The tenant's audit trail, newest first (logins included); page on with `before` = `next`",
        params: DomainParams,
        querystring: Type.Object({
          action: Type.Optional(
            Type.String({ minLength: 1, maxLength: 100, description: 'Prefix: `login.`' }),
          ),
          actor: Type.Optional(Type.String({ minLength: 1, maxLength: 600 })),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
          until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
          before: Type.Optional(Type.Integer({ minimum: 1, description: "The previous page's `next`" })),
          limit: Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 100 }),
        }),
        response: {
          200: Type.Object({
            entries: Type.Array(AuditEntryBody),
            next: Type.Optional(Type.Integer({ description: 'Absent on the last page' })),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenant } = await managedTenant(context, request, request.params.domain);
      const { action, actor, since, until, before, limit } = request.query;
      const entries = await context.audit.list(tenant.id, {
        actionPrefix: action,
        actor,
        since: since === undefined ? undefined : Date.parse(since),
        until: until === undefined ? undefined : Date.parse(until),
        before,
        limit,
      });
      const last = entries.at(-1);
      return {
        entries: entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
        next: entries.length === limit && last ? last.id : undefined,
      };
    },
  );
};

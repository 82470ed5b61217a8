import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { inspectSchema } from '../../releases/guard.js';
import { CURRENT_RELEASE } from '../../releases/matrix.js';
import type { ServerContext } from '../context.js';

const ReadyBody = Type.Object({
  ready: Type.Boolean(),
  database: Type.String(),
  schema: Type.String({ description: 'The schema state: current, older, newer, tampered... or unreachable' }),
  release: Type.String(),
  maintenance: Type.Boolean({
    description: 'Writes are refused for maintenance (the node stays ready: reads and logins work)',
  }),
  maintenanceMessage: Type.Optional(
    Type.String({
      description: 'While in maintenance: what refused writes answer with (the console shows it)',
    }),
  ),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: "The database answers and its schema is this release's",
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_request, reply) => {
      let schema: string;
      try {
        await sql`select 1`.execute(context.database.db);
        schema = (await inspectSchema(context.database)).status;
      } catch (error) {
        context.logger.warn({ err: error }, 'readiness check: database unreachable');
        schema = 'unreachable';
      }
      const ready = schema === 'current';
      return reply.status(ready ? 200 : 503).send({
        ready,
        database: context.database.kind,
        schema,
        release: CURRENT_RELEASE,
        maintenance: context.maintenance.on,
        maintenanceMessage: context.maintenance.on ? context.maintenance.state.message : undefined,
      });
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', context.metrics.prometheus.contentType);
    return context.metrics.prometheus.metrics();
  });
};

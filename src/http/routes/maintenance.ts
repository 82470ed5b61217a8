import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SUPER_TENANT_ID } from '../../home/layout.js';
import { assertSuperAdmin } from '../../identity/authenticator.js';
import { type AckReport, ackReport } from '../../maintenance/ack-report.js';
import { MAX_MESSAGE_LENGTH, MAX_RETRY_AFTER_SECONDS } from '../../maintenance/state.js';
import { DEFAULT_ACK_WAIT_SECONDS, switchCluster } from '../../maintenance/switch.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { errorResponses } from './schemas.js';

const MaintenanceBody = Type.Object({
  on: Type.Boolean(),
  message: Type.String({ description: 'What refused writes answer with; empty while off' }),
  retryAfterSeconds: Type.Integer({ description: 'Sent as `Retry-After` with every refused write' }),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'The last switch' })),
  by: Type.Optional(Type.String({ description: 'Who made the last switch' })),
  generation: Type.Integer({ description: 'Grows by one with every switch; 0: never switched' }),
  allAcked: Type.Boolean({ description: 'Every live node acknowledged this generation' }),
  nodes: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      host: Type.String(),
      port: Type.Integer(),
      acked: Type.Boolean({
        description: 'Applied this generation, with no write let in before it still running',
      }),
      ackedGeneration: Type.Optional(Type.Integer()),
      inFlight: Type.Integer({ description: 'Writes it still had running when it acknowledged' }),
    }),
  ),
});

function bodyOf(report: AckReport) {
  const { state } = report;
  return {
    on: state.on,
    message: state.message,
    retryAfterSeconds: state.retryAfterSeconds,
    since: state.since === undefined ? undefined : new Date(state.since).toISOString(),
    by: state.by,
    generation: report.generation,
    allAcked: report.allAcked,
    nodes: report.nodes,
  };
}

/** The cluster's maintenance mode (README, Maintenance mode): super tenant admin only. */
export const maintenanceRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  const periodMs = context.config.cluster.heartbeatSeconds * 1000;
  const response = { 200: MaintenanceBody, ...errorResponses };

  app.get(
    '/maintenance',
    {
      schema: {
        tags: ['maintenance'],
        summary: "The maintenance mode and each live node's acknowledgement of its last switch",
        response,
      },
    },
    async (request) => {
      assertSuperAdmin(principalOf(request));
      return bodyOf(await ackReport(context.database.db, periodMs));
    },
  );

  app.put(
    '/maintenance',
    {
      schema: {
        tags: ['maintenance'],
        summary:
          'Switch maintenance on: writes answer 503 MAINTENANCE on every node; answers once every live node acknowledged, or after waitSeconds',
        body: Type.Object({
          message: Type.Optional(Type.String({ maxLength: MAX_MESSAGE_LENGTH })),
          retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RETRY_AFTER_SECONDS })),
          waitSeconds: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 600, default: DEFAULT_ACK_WAIT_SECONDS }),
          ),
        }),
        response,
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      const { message, retryAfterSeconds, waitSeconds } = request.body;
      const report = await switchCluster({
        db: context.database.db,
        bus: context.bus,
        mode: context.maintenance,
        change: { on: true, message, retryAfterSeconds, by: principal.qualifiedName },
        periodMs,
        waitMs: (waitSeconds ?? DEFAULT_ACK_WAIT_SECONDS) * 1000,
      });
      await context.audit.record(SUPER_TENANT_ID, principal, 'maintenance.on', 'cluster', {
        generation: report.generation,
        allAcked: report.allAcked,
      });
      return bodyOf(report);
    },
  );

  app.delete(
    '/maintenance',
    {
      schema: {
        tags: ['maintenance'],
        summary: 'Switch maintenance off: writes are accepted again on every node',
        response,
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertSuperAdmin(principal);
      const report = await switchCluster({
        db: context.database.db,
        bus: context.bus,
        mode: context.maintenance,
        change: { on: false, by: principal.qualifiedName },
        periodMs,
        waitMs: DEFAULT_ACK_WAIT_SECONDS * 1000,
      });
      await context.audit.record(SUPER_TENANT_ID, principal, 'maintenance.off', 'cluster', {
        generation: report.generation,
      });
      return bodyOf(report);
    },
  );
};

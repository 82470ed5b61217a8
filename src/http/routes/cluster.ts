import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GONE_AFTER_PERIODS, listNodes } from '../../cluster/nodes.js';
import { assertSuperAdmin } from '../../identity/authenticator.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { errorResponses } from './schemas.js';

const NodeBody = Type.Object({
  nodeId: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  release: Type.String(),
  startedAt: Type.Number({ description: 'Epoch milliseconds' }),
  lastHeartbeat: Type.Number({ description: 'Epoch milliseconds' }),
  secondsSinceHeartbeat: Type.Integer(),
  state: Type.Union([Type.Literal('live'), Type.Literal('gone')], {
    description: 'live: a heartbeat within 3 periods; gone: 3 heartbeats missed',
  }),
});

/** The nodes sharing this server's database (README, Clustering), as `tessera cluster status` shows them. */
export const clusterRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.get(
    '/cluster/nodes',
    {
      schema: {
        tags: ['cluster'],
        summary: 'List the cluster nodes and whether each is live (super tenant admin only)',
        response: {
          200: Type.Object({
            heartbeatSeconds: Type.Integer(),
            goneAfterSeconds: Type.Integer(),
            nodes: Type.Array(NodeBody),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      assertSuperAdmin(principalOf(request));
      const seconds = context.config.cluster.heartbeatSeconds;
      return {
        heartbeatSeconds: seconds,
        goneAfterSeconds: GONE_AFTER_PERIODS * seconds,
        nodes: await listNodes(context.database.db, seconds * 1000),
      };
    },
  );
};

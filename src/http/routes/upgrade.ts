import { existsSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { assertSuperAdmin } from '../../identity/authenticator.js';
import { loadReportJournal } from '../../upgrade/first-serving.js';
import { journalPath, redactJournal } from '../../upgrade/journal.js';
import { renderReport } from '../../upgrade/report.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { errorResponses } from './schemas.js';

/** The journal of the upgrade that built this home (`<home>/upgrade/journal.json`), for the console. */
export const upgradeRoutes: FastifyPluginAsyncTypebox<{ context: ServerContext }> = async (
  app,
  { context },
) => {
  app.get(
    '/upgrade/report',
    {
      schema: {
        tags: ['upgrade'],
        summary: 'The last upgrade into this home: its journal and the text `tessera upgrade report` prints',
        description:
          'Super tenant admin only; 204 (no body) when no upgrade has run into this home: a home without an ' +
          'upgrade is a normal state, not a missing resource, so the console asks without an error.',
        response: {
          204: Type.Null({ description: 'No upgrade has run into this home' }),
          200: Type.Object({
            text: Type.String(),
            journal: Type.Unknown({ description: 'The journal: plan, steps with timings and facts, outage' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      assertSuperAdmin(principalOf(request));
      if (!existsSync(journalPath(context.layout.root))) return reply.status(204).send(null);
      // The outage as it stands now: open until a node of the new release served, then ended by it.
      // Redacted again: a journal written by an earlier release still holds the passwords.
      const journal = redactJournal(loadReportJournal(context.layout.root));
      return { text: renderReport(journal), journal };
    },
  );
};

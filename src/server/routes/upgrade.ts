import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { redactDatabaseUrl } from '../../db/url.js';
import { loadReportJournal } from '../../upgrade/first-serving.js';
import type { JournalData } from '../../upgrade/journal.js';
import { renderReport } from '../../upgrade/report.js';
import { assertSuperAdmin } from '../auth.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';
import { errorResponses } from './schemas.js';

/** The journal with database passwords taken out of its URLs, as the text report shows them. */
export function redactJournal<T extends Pick<JournalData, 'command' | 'plan'>>(data: T): T {
  return {
    ...data,
    command: { ...data.command, stagingUrl: redactDatabaseUrl(data.command.stagingUrl) },
    plan: {
      ...data.plan,
      productionUrl: redactDatabaseUrl(data.plan.productionUrl),
      stagingUrl: redactDatabaseUrl(data.plan.stagingUrl),
    },
  };
}

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
        description: 'Super tenant admin only; 404 when this home was not made by `tessera upgrade`.',
        response: {
          200: Type.Object({
            text: Type.String(),
            journal: Type.Unknown({ description: 'The journal: plan, steps with timings and facts, outage' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      assertSuperAdmin(principalOf(request));
      // The outage as it stands now: open until a node of the new release served, then ended by it.
      const journal = redactJournal(loadReportJournal(context.layout.root));
      return { text: renderReport(journal), journal };
    },
  );
};

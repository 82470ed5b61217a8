import { describeAttached, findLiveNodes } from '../cluster/liveness.js';
import type { TesseraConfig } from '../config/schema.js';
import type { Database } from '../db/connection.js';
import { TesseraError } from '../errors.js';
import type { HomeLayout } from '../home/layout.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';

/**
 * Export and import refuse a home while a Tessera node runs on it or on its database: an import would
 * replace rows under a running server, and an export would carry a live installation's state as if it were
 * at rest. The same question as the upgrade's `no-live-node` preflight (src/cluster/liveness.ts). The nodes
 * are of this build's release (both commands only handle a database at it), whose nodes hold home locks,
 * so the answer is never `unknown` here.
 */
export async function refuseLiveHome(
  action: 'export' | 'import',
  database: Database<unknown>,
  layout: HomeLayout,
  config: Pick<TesseraConfig, 'cluster'>,
): Promise<void> {
  const liveness = await findLiveNodes({
    database,
    layout,
    release: CURRENT_RELEASE,
    periodMs: config.cluster.heartbeatSeconds * 1000,
  });
  if (liveness.state !== 'live') return;
  throw new TesseraError(
    'NODE_RUNNING',
    `Cannot ${action} ${layout.root} while it is in use: ${describeAttached(liveness, database.label).join(' ')}`,
    {
      hint: `Stop every Tessera node of this home and its database (and any other client of ${database.label}), then run tessera ${action} again. A node that crashed stops counting at once on this home, ${Math.round(liveness.windowMs / 1000)} s after its last heartbeat elsewhere.`,
    },
  );
}

import { CLUSTER_NODES_TABLE } from '../cluster/nodes.js';
import type { TableInfo } from '../db/copy/tables.js';

/** identity/app-sessions.ts's table (a peer room, so named here rather than imported). */
const APP_SESSIONS_TABLE = 'app_sessions';

/**
 * Tables whose rows never travel between homes: `cluster_nodes` lists the processes of one installation,
 * and a row carried into another would show there as a node that is `gone` (a ghost in `tessera cluster
 * status`); `app_sessions` are the signed-in browsers of one installation (README, Signing in to apps), and
 * a test instance's sessions must not open another installation's apps. An export writes these tables empty, and an import leaves their rows out of older bundles.
 */
export function rowsStayBehind(table: Pick<TableInfo, 'name'>): boolean {
  return table.name === CLUSTER_NODES_TABLE || table.name === APP_SESSIONS_TABLE;
}

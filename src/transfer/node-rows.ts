import { CLUSTER_NODES_TABLE } from '../cluster/nodes.js';
import type { TableInfo } from '../db/copy/tables.js';

/**
 * Tables whose rows never travel between homes: `cluster_nodes` lists the processes of one installation,
 * and a row carried into another would show there as a node that is `gone` (a ghost in `tessera cluster
 * status`). An export writes these tables empty, and an import leaves their rows out of older bundles.
 */
export function rowsStayBehind(table: Pick<TableInfo, 'name'>): boolean {
  return table.name === CLUSTER_NODES_TABLE;
}

import type { DeployedApp } from './deployer.js';
import type { AppDirectory, AppState } from './runtime/contract.js';

/** One app as one node serves it. */
export interface NodeAppReport {
  tenantId: number;
  name: string;
  /** The version the node serves: its running process's for a node app, else the deployed one. */
  version: string;
  /** A node app's state; `serving` for static files, which have no process. */
  state: AppState | 'serving';
  restarts?: number;
  /** Why a node app is not running, cut short. */
  reason?: string;
}

/** A reason kept in the report: enough to tell a crash from a limit, not a stack trace on every heartbeat. */
const REASON_CHARS = 200;
const FORMAT = 1;

/**
 * This node's report of the apps it serves, as the heartbeat writes it (`cluster_nodes.apps_status`): what
 * `GET .../webapps` shows of the other nodes. It holds what changes with a deploy, a start or a failure,
 * not what changes every second (memory, event-loop use: the node's own `/metrics`), so that an unchanged
 * report is not written again.
 */
export function writeNodeReport(deployed: readonly DeployedApp[], running: AppDirectory | undefined): string {
  const apps = deployed.map((app): NodeAppReport => {
    const status = app.config.runtime === 'node' ? running?.get(app.tenantId, app.name)?.status() : undefined;
    if (!status) return { tenantId: app.tenantId, name: app.name, version: app.version, state: 'serving' };
    return {
      tenantId: app.tenantId,
      name: app.name,
      version: status.version ?? app.version,
      state: status.state,
      restarts: status.restarts,
      ...(status.reason === undefined ? {} : { reason: status.reason.slice(0, REASON_CHARS) }),
    };
  });
  return JSON.stringify({ format: FORMAT, apps });
}

/** The apps of `tenantId` in a node's report; none when the node made no report or one this release cannot read. */
export function readNodeReport(text: string | undefined, tenantId: number): NodeAppReport[] {
  if (text === undefined) return [];
  try {
    const report = JSON.parse(text) as { format?: unknown; apps?: unknown };
    if (report.format !== FORMAT || !Array.isArray(report.apps)) return [];
    return (report.apps as NodeAppReport[]).filter((app) => app.tenantId === tenantId);
  } catch {
    return [];
  }
}

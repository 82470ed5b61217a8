import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ClusterNodesTable, Schema } from '../db/schema.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import { MISSED_HEARTBEATS } from './liveness.js';

/**
 * A node that missed this many heartbeats in a row is gone: the same rule the upgrade's `no-live-node`
 * preflight applies, so `tessera cluster status` and the upgrade never disagree on whether a node is live.
 */
export const GONE_AFTER_PERIODS = MISSED_HEARTBEATS;

/** The table of running nodes: its rows describe processes of one installation, never data to carry. */
export const CLUSTER_NODES_TABLE = 'cluster_nodes';

/** Rows of nodes silent for this many periods are removed when a node starts (crashed nodes leave theirs). */
export const PRUNE_AFTER_PERIODS = 100;

/** How often a node checks whether its report of its apps changed (a write only when it did). */
const REPORT_CHECK_MS = 1_000;

/** The longest `node_id` the table takes (VARCHAR(64)). */
const NODE_ID_MAX = 64;

type ClusterDb = Kysely<{ cluster_nodes: ClusterNodesTable }>;

/** A server's database, or one opened without its schema type (the CLI, an upgrade). */
export type NodesDb = Kysely<unknown> | Kysely<Schema>;

export type NodeState = 'live' | 'gone';

export interface ClusterNode {
  nodeId: string;
  host: string;
  port: number;
  release: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms. */
  lastHeartbeat: number;
  /** Whole seconds since the last heartbeat (never negative). */
  secondsSinceHeartbeat: number;
  state: NodeState;
  /** What the node last reported of its apps (`ClusterMembershipOptions.report`), as it wrote it. */
  appsReport?: string;
}

/** `hostname-port-random`: stable for the life of the process, unique across restarts and machines. */
export function makeNodeId(port: number, hostname = os.hostname()): string {
  const suffix = `-${port}-${randomBytes(4).toString('hex')}`;
  const host = (hostname || 'node').replace(/[^A-Za-z0-9.-]/g, '_');
  return `${host.slice(0, NODE_ID_MAX - suffix.length)}${suffix}`;
}

/** `live` while the last heartbeat is within {@link GONE_AFTER_PERIODS} periods, else `gone`. */
export function nodeState(lastHeartbeat: number, periodMs: number, now = Date.now()): NodeState {
  return lastHeartbeat > now - GONE_AFTER_PERIODS * periodMs ? 'live' : 'gone';
}

/** Every node row, oldest start first, with its state as of `now`. */
export async function listNodes(db: NodesDb, periodMs: number, now = Date.now()): Promise<ClusterNode[]> {
  const rows = await (db as ClusterDb)
    .selectFrom('cluster_nodes')
    .selectAll()
    .orderBy('started_at')
    .orderBy('node_id')
    .execute();
  return rows.map((row) => {
    const lastHeartbeat = Number(row.last_heartbeat);
    return {
      nodeId: row.node_id,
      host: row.host,
      port: Number(row.port),
      release: row.release_version,
      startedAt: Number(row.started_at),
      lastHeartbeat,
      secondsSinceHeartbeat: Math.max(0, Math.round((now - lastHeartbeat) / 1000)),
      state: nodeState(lastHeartbeat, periodMs, now),
      // Null before a node reported, and absent from databases older than 2.1.0 (the CLI reads those too).
      ...(typeof row.apps_status === 'string' ? { appsReport: row.apps_status } : {}),
    };
  });
}

export interface ClusterMembershipOptions {
  /** The server's database (any schema that has `cluster_nodes`). */
  db: NodesDb;
  logger: Logger;
  heartbeatSeconds: number;
  port: number;
  host?: string;
  /** Remove rows of nodes gone for {@link PRUNE_AFTER_PERIODS} periods on start (default true). */
  prune?: boolean;
  now?: () => number;
  /**
   * This node's report of its apps, made every second and written whenever it changed since the last one
   * written, so that any node can tell what every node serves (README, Every node serves every app) within
   * about a second. Left out, the column is never written (a database before 2.1.0 has none).
   */
  report?: () => string;
}

/**
 * This node's row in `cluster_nodes` (README, Clustering): registered on start, its `last_heartbeat`
 * refreshed every `cluster.heartbeat_seconds`, deleted on a clean stop. A failed heartbeat is logged and
 * tried again on the next tick; it never stops the server.
 */
export class ClusterMembership {
  readonly nodeId: string;
  readonly host: string;
  readonly port: number;
  readonly periodMs: number;
  readonly startedAt: number;
  private readonly db: ClusterDb;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly prune: boolean;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;
  private readonly report: (() => string) | undefined;
  /** The report as last written: an unchanged one is not written again. */
  private reportWritten: string | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private reporting: Promise<void> | undefined;

  constructor(options: ClusterMembershipOptions) {
    this.db = options.db as ClusterDb;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.port = options.port;
    this.host = (options.host ?? os.hostname()).slice(0, 255);
    this.nodeId = makeNodeId(options.port);
    this.periodMs = Math.max(1, options.heartbeatSeconds) * 1000;
    this.prune = options.prune ?? true;
    this.report = options.report;
    this.startedAt = this.now();
  }

  /** Removes long-gone nodes' rows, inserts this node's row and starts the heartbeat timer. */
  async start(): Promise<void> {
    if (this.prune) {
      const removed = await this.removeLongGone();
      if (removed > 0)
        this.logger.info(
          { removed },
          `removed ${removed} cluster node row(s) silent for ${PRUNE_AFTER_PERIODS} heartbeat periods`,
        );
    }
    await this.insertRow(this.now());
    this.logger.info(
      { nodeId: this.nodeId, heartbeatSeconds: this.periodMs / 1000 },
      'cluster node registered',
    );
    this.timer = setInterval(() => {
      void this.beat();
    }, this.periodMs);
    this.timer.unref();
    if (this.report) {
      this.reportTimer = setInterval(() => void this.writeReport(), REPORT_CHECK_MS);
      this.reportTimer.unref();
    }
  }

  /** Writes this node's report of its apps if it changed since it was last written. Never throws. */
  async writeReport(): Promise<void> {
    if (!this.report || this.stopped || this.reporting) return;
    this.reporting = this.writeReportOnce(this.report);
    try {
      await this.reporting;
    } finally {
      this.reporting = undefined;
    }
  }

  private async writeReportOnce(make: () => string): Promise<void> {
    try {
      const report = make();
      if (report === this.reportWritten) return;
      const result = await this.db
        .updateTable('cluster_nodes')
        .set({ apps_status: report })
        .where('node_id', '=', this.nodeId)
        .executeTakeFirst();
      // No row (pruned by another node): the next heartbeat inserts it, report included.
      if (Number(result.numUpdatedRows) > 0) this.reportWritten = report;
    } catch (error) {
      this.logger.warn(
        { err: error, nodeId: this.nodeId },
        "cluster node's app report not written; retrying",
      );
    }
  }

  /** Inserts this node's row as of a heartbeat at `beatAt`, with its report when it makes one. */
  private async insertRow(beatAt: number): Promise<void> {
    const report = this.report?.();
    await this.db
      .insertInto('cluster_nodes')
      .values({
        node_id: this.nodeId,
        host: this.host,
        port: this.port,
        release_version: CURRENT_RELEASE,
        started_at: this.startedAt,
        last_heartbeat: beatAt,
        ...(report === undefined ? {} : { apps_status: report }),
      })
      .execute();
    this.reportWritten = report;
  }

  /**
   * One heartbeat. Re-inserts the row if it went missing (another node pruned it while this one was
   * paused, or an operator removed it). Never throws.
   */
  async beat(): Promise<void> {
    if (this.stopped || this.beating) return;
    this.beating = (async () => {
      try {
        const now = this.now();
        const result = await this.db
          .updateTable('cluster_nodes')
          .set({ last_heartbeat: now })
          .where('node_id', '=', this.nodeId)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0 && !this.stopped) {
          await this.insertRow(now);
          this.logger.warn({ nodeId: this.nodeId }, 'cluster node row was missing; registered again');
        }
      } catch (error) {
        this.logger.error(
          { err: error, nodeId: this.nodeId },
          'cluster heartbeat failed; retrying next period',
        );
      } finally {
        this.beating = undefined;
      }
    })();
    await this.beating;
  }

  /** Stops the heartbeat and deletes this node's row (a clean stop leaves no trace in the table). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.timer = undefined;
    this.reportTimer = undefined;
    await this.beating;
    await this.reporting;
    await this.db.deleteFrom('cluster_nodes').where('node_id', '=', this.nodeId).execute();
    this.logger.info({ nodeId: this.nodeId }, 'cluster node deregistered');
  }

  /** Deletes rows silent for {@link PRUNE_AFTER_PERIODS} periods (never one within 3 periods). */
  async removeLongGone(): Promise<number> {
    const periods = Math.max(PRUNE_AFTER_PERIODS, GONE_AFTER_PERIODS);
    const result = await this.db
      .deleteFrom('cluster_nodes')
      .where('last_heartbeat', '<', this.now() - periods * this.periodMs)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

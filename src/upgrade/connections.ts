import type { Database } from '../db/connection.js';

export type ConnectionRole = 'production' | 'staging';

/**
 * The upgrade's two database connections, each opened on first use. Keyed by role, so that a staging URL
 * equal to production's still gets a pool of its own. `close` forgets them: the next use opens them again,
 * which is how a step makes way for a server-side copy that needs both databases free of sessions.
 */
export class UpgradeConnections {
  private readonly open = new Map<ConnectionRole, Promise<Database<unknown>>>();

  constructor(private readonly openers: Record<ConnectionRole, () => Promise<Database<unknown>>>) {}

  get(role: ConnectionRole): Promise<Database<unknown>> {
    let connection = this.open.get(role);
    if (!connection) {
      connection = this.openers[role]();
      this.open.set(role, connection);
    }
    return connection;
  }

  /** Closes whatever is open; a connection that failed to open is only forgotten. */
  async close(): Promise<void> {
    const open = [...this.open.values()];
    this.open.clear();
    for (const connection of open) await connection.then((db) => db.close()).catch(() => {});
  }
}

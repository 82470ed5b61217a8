/**
 * What a 2.0.1 node still writes to production while it is frozen (read from 2.0.1's own code, the commit
 * the release matrix records), and how the online path deals with each:
 *
 * - `cluster_nodes.last_heartbeat`: every node refreshes its row every heartbeat period. No copy can match
 *   it, so the stage step compares that table without this column (LIVE_COLUMNS). A node that starts or
 *   stops during the copy adds or removes its row: that difference is not left out, and is copied again.
 * - Its maintenance acknowledgement (`registry_resources`, path `tessera:maintenance-ack:<node>`): written
 *   once per switch, before the freeze step lets the upgrade go on, so it is still during the copy (a node
 *   started or stopped meanwhile writes or removes its own, copied again like its node row).
 * - A legacy password re-hash at login: 2.0.1 skips it while in maintenance, but it asks before hashing
 *   (argon2id, tens to hundreds of ms), not before writing, so a login that asked just before its node
 *   learned of the freeze still writes the new hash of the same password afterwards, after the node
 *   acknowledged (logins are not writes it counts). Either hash verifies the same password, so what the
 *   new release carries is right either way; but a copy verified at the wrong moment sees the row differ.
 *   The stage step therefore copies a table that differs once more and verifies it again (such a write
 *   lands within one hash of the freeze) before it calls it different.
 * - Audit rows, login lockout: 2.0.1 audits only API writes (refused while frozen) and has no lockout
 *   table; a console session lives in the node's memory. Nothing else is written: store definitions and
 *   hot deploys are held until maintenance is off, which on the online path it never is again.
 */
export const LIVE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  cluster_nodes: ['last_heartbeat'],
};

/** Said in the journal and the report beside the comparison that left them out. */
export const LIVE_COLUMNS_REASON =
  'refreshed every heartbeat period by the old nodes, which keep serving while production is frozen';

/** How many times the online path copies a differing table again before the stage step fails. */
export const RECOPY_ROUNDS = 1;

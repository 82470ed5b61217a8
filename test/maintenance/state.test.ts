import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SUPER_TENANT_DOMAIN, SUPER_TENANT_ID } from '../../src/home/layout.js';
import { ackReport } from '../../src/maintenance/ack-report.js';
import { readAcks, removeOrphanAcks, writeAck } from '../../src/maintenance/acks.js';
import { MaintenanceMode } from '../../src/maintenance/mode.js';
import { NEVER_SWITCHED } from '../../src/maintenance/state.js';
import { readMaintenanceState, switchMaintenance } from '../../src/maintenance/state-row.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { type ServerDatabase, serverDatabase } from '../userstores/helpers.js';

const silent = pino({ level: 'silent' });

let server: ServerDatabase | undefined;
afterEach(async () => {
  await server?.dispose();
  server = undefined;
});

describe.each(DATABASE_KINDS)('the maintenance state row on %s', (kind) => {
  it('reads off before any switch; concurrent switches each take a generation of their own', async () => {
    server = await serverDatabase(kind, { [SUPER_TENANT_ID]: SUPER_TENANT_DOMAIN });
    const db = server.database.db;
    expect(await readMaintenanceState(db)).toEqual(NEVER_SWITCHED);
    const switched = await Promise.all(
      [true, false, true, true].map((on, i) => switchMaintenance(db, { on, by: `op${i}`, message: `m${i}` })),
    );
    expect(switched.map((state) => state.generation).sort()).toEqual([1, 2, 3, 4]);
    const last = switched.find((state) => state.generation === 4);
    expect(await readMaintenanceState(db)).toEqual(last);
    // One row, whatever the number of switches.
    const rows = await db.selectFrom('registry_resources').select('path').execute();
    expect(rows).toEqual([{ path: 'tessera:maintenance' }]);

    await expect(switchMaintenance(db, { on: true, by: 'x', retryAfterSeconds: 0 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      switchMaintenance(db, { on: true, by: 'x', message: 'x'.repeat(501) }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect((await readMaintenanceState(db)).generation).toBe(4);
  });

  it('keeps one acknowledgement per node and drops those of nodes no longer registered', async () => {
    server = await serverDatabase(kind, { [SUPER_TENANT_ID]: SUPER_TENANT_DOMAIN });
    const db = server.database.db;
    const now = Date.now();
    await db
      .insertInto('cluster_nodes')
      .values({
        node_id: 'live-1',
        host: 'h',
        port: 1,
        release_version: '2.0.0',
        started_at: now,
        last_heartbeat: now,
      })
      .execute();
    const state = await switchMaintenance(db, { on: true, by: 'op' });
    await writeAck(db, { nodeId: 'live-1', generation: 1, inFlight: 0, at: now });
    await writeAck(db, { nodeId: 'crashed', generation: 1, inFlight: 0, at: now });
    expect((await ackReport(db, 10_000)).allAcked).toBe(true);
    await switchMaintenance(db, { on: true, by: 'op' });
    const report = await ackReport(db, 10_000);
    expect(report).toMatchObject({ generation: state.generation + 1, allAcked: false });
    expect(report.nodes).toMatchObject([{ nodeId: 'live-1', acked: false, ackedGeneration: 1 }]);
    await writeAck(db, { nodeId: 'live-1', generation: 2, inFlight: 0, at: now });
    expect((await ackReport(db, 10_000)).allAcked).toBe(true);
    expect(await removeOrphanAcks(db)).toBe(1);
    expect([...(await readAcks(db)).keys()]).toEqual(['live-1']);
  });
});

describe('a node’s maintenance mode', () => {
  it('shuts the gate at once, and acknowledges only once the write let in before is done', async () => {
    server = await serverDatabase('sqlite', { [SUPER_TENANT_ID]: SUPER_TENANT_DOMAIN });
    const db = server.database.db;
    const mode = new MaintenanceMode({ db, logger: silent });
    mode.attachNode('node-a');
    const done = mode.beginWrite();
    expect(done).toBeDefined();
    mode.learn(await switchMaintenance(db, { on: true, by: 'op' }));
    expect(mode.beginWrite()).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await readAcks(db)).size).toBe(0);
    done?.();
    await mode.settled();
    expect(await readAcks(db)).toEqual(
      new Map([['node-a', expect.objectContaining({ generation: 1, inFlight: 0 })]]),
    );
    // An older state read late changes nothing.
    mode.learn(NEVER_SWITCHED);
    expect(mode.on).toBe(true);
  });

  it('acknowledges after the drain timeout with the number of writes still running', async () => {
    server = await serverDatabase('sqlite', { [SUPER_TENANT_ID]: SUPER_TENANT_DOMAIN });
    const db = server.database.db;
    const mode = new MaintenanceMode({ db, logger: silent, drainTimeoutMs: 100 });
    mode.attachNode('node-b');
    mode.beginWrite();
    mode.learn(await switchMaintenance(db, { on: true, by: 'op' }));
    await mode.settled();
    expect((await readAcks(db)).get('node-b')).toMatchObject({ generation: 1, inFlight: 1 });
  });
});

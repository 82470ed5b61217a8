import { afterEach, describe, expect, it } from 'vitest';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('GET /api/v1/cluster/nodes', () => {
  it('lists this node as live for the super tenant admin, and refuses everyone else', async () => {
    t = await startTestServer('sqlite');
    const created = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(created.status).toBe(201);

    const reply = await t.call('GET', '/api/v1/cluster/nodes', { as: SUPER });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ heartbeatSeconds: 10, goneAfterSeconds: 30 });
    expect(reply.body.nodes).toHaveLength(1);
    expect(reply.body.nodes[0]).toMatchObject({
      port: t.server.port,
      release: CURRENT_RELEASE,
      state: 'live',
    });

    expect((await t.call('GET', '/api/v1/cluster/nodes', { as: ACME })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/cluster/nodes')).status).toBe(401);
  });
});

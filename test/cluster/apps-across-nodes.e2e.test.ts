import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL } from '../cache/redis.js';
import { type ClusterNode, callNode, ensureBuilt, ProcessCluster, waitFor } from '../helpers/cluster.js';
import { ADMIN_PASSWORD } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const AUTH = `Basic ${Buffer.from(SUPER.join(':')).toString('base64')}`;
const APP = 'hello';

let cluster: ProcessCluster | undefined;

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** A node app answering its version and a label: what each node serves shows which version runs there. */
function appVersion(label: string): Promise<Buffer> {
  return buildZip({
    'tessera-app.toml': 'runtime = "node"\nentry = "server.mjs"\nhealth = "/healthz"\n',
    'server.mjs': `export default { fetch: () => new Response(process.env.TESSERA_APP_VERSION + " ${label}") };\n`,
  });
}

async function upload(
  node: ClusterNode,
  zip: Buffer,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.url}/api/v1/tenants/carbon.super/webapps?name=${APP}`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/zip' },
    body: zip,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What the node answers at the app's mount: `<version> <label>`, or the status when not 200. */
async function served(node: ClusterNode): Promise<string> {
  const response = await fetch(`${node.url}/${APP}/`);
  const text = await response.text();
  return response.status === 200 ? text : `status ${response.status}`;
}

/** Waits until every node answers `expected`; returns how long that took. */
async function untilAllServe(nodes: ClusterNode[], expected: string, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    `every node serving "${expected}"`,
    async () => {
      const answers = await Promise.all(nodes.map((node) => served(node)));
      return answers.every((answer) => answer === expected) ? true : undefined;
    },
    timeoutMs,
  );
  return Date.now() - started;
}

describe('apps across the nodes of a cluster (PostgreSQL, Redis)', () => {
  it('serves an app deployed through one node on every node, a node started later too, and a rollback through another', async () => {
    cluster = await ProcessCluster.create('apps_across');
    const homes = [1, 2, 3, 4].map((i) =>
      (cluster as ProcessCluster).homeFor(i, { 'cache.redis': `"${SHARED_REDIS_URL}"` }),
    );
    const a = await cluster.start(homes[0] as string);
    const [b, c] = await Promise.all([cluster.start(homes[1] as string), cluster.start(homes[2] as string)]);
    const three = [a, b, c];

    const first = await upload(a, await appVersion('first'));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ version: '1', status: { state: 'running', version: '1' } });
    const firstMs = await untilAllServe(three, '1 first');

    const second = await upload(b, await appVersion('second'));
    expect(second.body).toMatchObject({ version: '2', status: { state: 'running', version: '2' } });
    const secondMs = await untilAllServe(three, '2 second');

    // A node that joins later serves what the cluster serves, from its first start.
    const d = await cluster.start(homes[3] as string);
    const all = [a, b, c, d];
    const joinMs = await untilAllServe(all, '2 second');

    // Rolled back through C: every node, the new one included, serves version 1 again.
    const rollback = await callNode(c, 'POST', `/api/v1/tenants/carbon.super/webapps/${APP}/rollback`, {
      as: SUPER,
      body: { version: 1 },
    });
    expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
    expect(rollback.body).toMatchObject({ version: '1', status: { state: 'running', version: '1' } });
    const rollbackMs = await untilAllServe(all, '1 first');

    const versions = await callNode(d, 'GET', `/api/v1/tenants/carbon.super/webapps/${APP}/versions`, {
      as: SUPER,
    });
    expect(versions.body).toMatchObject({
      name: APP,
      current: 1,
      versions: [
        { version: 2, current: false, origin: 'upload', deployedBy: 'admin@carbon.super', available: true },
        { version: 1, current: true, origin: 'upload', deployedBy: 'admin@carbon.super', available: true },
      ],
    });
    // Any node's list tells what every node serves, from their heartbeats' reports (node ids for the super
    // tenant's admin, who sees the cluster anyway).
    const reported = await waitFor('every node reported version 1 running', async () => {
      const list = await callNode(b, 'GET', '/api/v1/tenants/carbon.super/webapps', { as: SUPER });
      const app = (
        list.body.webapps as { name: string; nodes: { node?: string; state: string; version?: string }[] }[]
      ).find((w) => w.name === APP);
      const reported = app?.nodes ?? [];
      return reported.length === 4 && reported.every((n) => n.state === 'running' && n.version === '1')
        ? reported
        : undefined;
    });
    expect(new Set(reported.map((n) => n.node)).size).toBe(4);

    // Nothing to roll back to past what exists, and every node keeps serving meanwhile.
    const unknown = await callNode(a, 'POST', `/api/v1/tenants/carbon.super/webapps/${APP}/rollback`, {
      as: SUPER,
      body: { version: 7 },
    });
    expect(unknown.status).toBe(404);

    // Undeployed through D: gone from every node.
    const undeployed = await callNode(d, 'DELETE', `/api/v1/tenants/carbon.super/webapps/${APP}`, {
      as: SUPER,
    });
    expect(undeployed.status).toBe(204);
    const undeployMs = await untilAllServe(all, 'status 404');
    console.log(
      `every node serving: first deploy ${firstMs} ms, redeploy ${secondMs} ms, joined node ${joinMs} ms, ` +
        `rollback ${rollbackMs} ms, undeploy ${undeployMs} ms (after the call answered)`,
    );
  }, 120_000);
});

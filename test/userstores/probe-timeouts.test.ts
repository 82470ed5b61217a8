import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNREACHABLE_MESSAGE } from '../../src/userstores/reach-errors.js';
import { scratchFolder } from '../helpers/databases.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer, writeConfig } from '../helpers/server.js';
import { ALLOW_LOCAL_STORE_HOSTS, createTenant } from '../helpers/tenant-stores.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const PROBE = '/api/v1/tenants/acme.com/userstores/test';
const CLI = path.resolve('bin/tessera.js');
/** The probe timeout the servers here run with (userstores.connect_timeout_ms). */
const TIMEOUT_MS = 1_500;

/** A TCP server that accepts every connection and never writes a byte. */
interface SilentServer {
  port: number;
  accepted: number;
  open: Set<Socket>;
  close(): Promise<void>;
}

async function silentServer(): Promise<SilentServer> {
  const open = new Set<Socket>();
  const silent: SilentServer = { port: 0, accepted: 0, open, close: async () => {} };
  const server: Server = createServer((socket) => {
    silent.accepted++;
    open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(socket));
    // Reads (and drops) what the client sends, so that it sees the client's end; answers nothing.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  silent.port = typeof address === 'object' && address ? address.port : 0;
  silent.close = () =>
    new Promise((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    });
  return silent;
}

/** A store definition of each kind that reaches a server over TCP, at `port` on 127.0.0.1. */
function definitions(port: number): Record<string, unknown> {
  return {
    postgres: { domain: 'X', type: 'jdbc', url: `postgres://postgres:pw@127.0.0.1:${port}/x` },
    mysql: { domain: 'X', type: 'jdbc', url: `mysql://root:pw@127.0.0.1:${port}/x` },
    ldap: {
      domain: 'X',
      type: 'ldap',
      url: `ldap://127.0.0.1:${port}`,
      ldap: {
        bindDn: 'cn=svc,dc=acme,dc=com',
        bindPassword: 'svc-pw',
        userSearchBase: 'ou=people,dc=acme,dc=com',
        groupSearchBase: 'ou=groups,dc=acme,dc=com',
        timeoutMs: 60_000,
      },
    },
  };
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25));
  return check();
}

const CONFIG = `${ALLOW_LOCAL_STORE_HOSTS}connect_timeout_ms = ${TIMEOUT_MS}\n`;

describe('probing a port that accepts and never answers', () => {
  let t: TestServer;
  let silent: SilentServer;

  beforeAll(async () => {
    t = await startTestServer('sqlite', CONFIG);
    silent = await silentServer();
    await createTenant(t, 'acme.com', ACME[1]);
  });
  afterAll(async () => {
    await silent?.close();
    await t?.stop();
  });

  for (const kind of ['postgres', 'mysql', 'ldap']) {
    it(`${kind}: five probes leave no socket open once answered`, async () => {
      const body = definitions(silent.port)[kind];
      const before = silent.accepted;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => t.call('POST', PROBE, { as: ACME, body })),
      );
      for (const answer of answers) expect(answer.body).toEqual({ ok: false, error: UNREACHABLE_MESSAGE });
      expect(silent.accepted - before).toBe(5);
      // Closed by the time the answers are in (a moment for the FIN to arrive), not at some later timeout.
      expect(await until(() => silent.open.size === 0, 500)).toBe(true);
    });

    it(`${kind}: a tenant admin's failed probe takes as long whether the port refused or stayed silent`, async () => {
      const closedPort = await freePort();
      const timed = async (port: number) => {
        const started = Date.now();
        const answer = await t.call('POST', PROBE, { as: ACME, body: definitions(port)[kind] });
        expect(answer.body).toEqual({ ok: false, error: UNREACHABLE_MESSAGE });
        return Date.now() - started;
      };
      const refused = await timed(closedPort);
      const stalled = await timed(silent.port);
      expect(refused).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(stalled).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(Math.abs(refused - stalled)).toBeLessThan(400);
      // The super admin is told at once, with the reason.
      const started = Date.now();
      const detailed = await t.call('POST', PROBE, { as: SUPER, body: definitions(closedPort)[kind] });
      expect(detailed.body.ok).toBe(false);
      expect(detailed.body.error).not.toBe(UNREACHABLE_MESSAGE);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
    });
  }

  it("a tenant admin's store on a refused port is refused after the timeout too", async () => {
    const closedPort = await freePort();
    const started = Date.now();
    const refused = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: {
        domain: 'CLOSED',
        type: 'jdbc',
        url: `postgres://postgres@127.0.0.1:${closedPort}/x`,
        readOnly: false,
      },
    });
    expect(refused.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
  });
});

describe('a server process with probes in flight', () => {
  let silent: SilentServer;
  let child: ChildProcess | undefined;
  const folder = scratchFolder('probe-stop');

  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await silent?.close();
    folder.remove();
  });

  it('stops on SIGTERM within a few seconds, however long the probes would wait', async () => {
    const home = path.join(folder.dir, 'home');
    mkdirSync(home, { recursive: true });
    // A probe timeout far longer than the bound asserted below: the stop must not wait for it.
    writeConfig(
      home,
      'sqlite:repository/database/tessera.db',
      `${ALLOW_LOCAL_STORE_HOSTS}connect_timeout_ms = 60000\n`,
    );
    const port = await freePort();
    child = spawn(process.execPath, [CLI, 'start', '--home', home], {
      env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdio: 'ignore',
    });
    const exited = new Promise<number>((resolve) => child?.once('exit', () => resolve(Date.now())));
    const url = `http://127.0.0.1:${port}`;
    const call = (as: [string, string], route: string, body: unknown) =>
      fetch(`${url}${route}`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(as.join(':')).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    let healthy = false;
    for (let i = 0; i < 300 && !healthy; i++) {
      healthy = (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true;
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(healthy).toBe(true);
    expect(
      (await call(SUPER, '/api/v1/tenants', { domain: 'acme.com', adminPassword: ACME[1] })).status,
    ).toBe(201);
    const kinds = definitions(silent.port);
    const bodies = [kinds.postgres, kinds.postgres, kinds.mysql, kinds.mysql, kinds.ldap];
    const inFlight = bodies.map((body) => call(ACME, PROBE, body).catch(() => undefined));
    expect(await until(() => silent.open.size === 5, 10_000)).toBe(true);

    const stopping = Date.now();
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000)),
    ]);
    expect(stopped, 'the server did not stop within 15 s of SIGTERM').toBeDefined();
    expect((stopped as number) - stopping).toBeLessThan(6_000);
    await Promise.all(inFlight);
    expect(await until(() => silent.open.size === 0, 1_000)).toBe(true);
  }, 60_000);
});

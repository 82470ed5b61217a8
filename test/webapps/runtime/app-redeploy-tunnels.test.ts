import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { KEY_HEADER } from '../../../src/webapps/runtime/contract.js';
import { alive, runtimeFixtures, waitFor } from './helpers.js';

const fixture = runtimeFixtures();

/** A `node:http` Server (not listening) whose upgrades answer 101 and echo each chunk, prefixed with its label. */
function echoApp(label: string): Record<string, string> {
  return {
    'server.js': `
      const http = require('node:http');
      const server = http.createServer((q, s) => s.end('${label}'));
      server.on('upgrade', (req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
        socket.on('data', (chunk) => socket.write('${label}:' + chunk));
      });
      module.exports = server;`,
  };
}

/** Opens an upgraded connection as the front does (`upgrade.ts`): to the socket, with the key, counted. */
async function openTunnel(endpoint: {
  socketPath: string;
  key: string;
  tunnels: { add(s: net.Socket): void };
}) {
  const socket = net.connect(endpoint.socketPath);
  endpoint.tunnels.add(socket);
  socket.write(
    `GET / HTTP/1.1\r\nHost: x\r\n${KEY_HEADER}: ${endpoint.key}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
  );
  const [head] = (await once(socket, 'data')) as [Buffer];
  expect(head.toString()).toMatch(/^HTTP\/1\.1 101/);
  return socket;
}

async function echo(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString();
}

describe('WebSocket tunnels of a redeployed version', () => {
  it('stay open through the switch, then close at the old version drain bound', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(app({ name: 'ws', files: echoApp('v1'), limits: { requestTimeoutS: 2 } }));
    await v1.settled();
    const endpoint = v1.endpoint();
    if (!endpoint) throw new Error('v1 has no endpoint');
    const socket = await openTunnel(endpoint);
    expect(await echo(socket, 'before')).toBe('v1:before');
    const closed = once(socket, 'close').then(() => Date.now());

    const v2 = await runtime.start(app({ name: 'ws', files: echoApp('v2') }));
    await runtime.switched(1, 'ws');
    const switchedAt = Date.now();
    expect(runtime.get(1, 'ws')).toBe(v2);
    // Its HTTP requests drained at once (there were none), yet the tunnel still echoes through v1.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await echo(socket, 'after')).toBe('v1:after');
    expect(v1.status().state).toBe('running');

    const closedAt = await closed;
    expect(closedAt - switchedAt).toBeGreaterThanOrEqual(1800);
    expect(closedAt - switchedAt).toBeLessThan(5000);
    const pid = v1.status().pid ?? 0;
    await waitFor('v1 to stop', () => v1.status().state === 'stopped' && !alive(pid), 10_000);
  });

  it('lets the old version stop as soon as its last tunnel closes on its own', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(
      app({ name: 'ws', files: echoApp('v1'), limits: { requestTimeoutS: 30 } }),
    );
    await v1.settled();
    const endpoint = v1.endpoint();
    if (!endpoint) throw new Error('v1 has no endpoint');
    const socket = await openTunnel(endpoint);
    await runtime.start(app({ name: 'ws', files: echoApp('v2') }));
    await runtime.switched(1, 'ws');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(v1.status().state).toBe('running');
    socket.destroy();
    const closedAt = Date.now();
    await waitFor('v1 to stop', () => v1.status().state === 'stopped', 10_000);
    expect(Date.now() - closedAt).toBeLessThan(5000);
  });
});

import { createServer, type Server } from 'node:http';
import { fetchListener, pendingWork } from './fetch-listener.js';
import { startHeartbeat } from './heartbeat.js';
import { EntryError, firstLines, loadEntry } from './load-entry.js';
import { type HostMessage, type HostSettings, isHostSettings } from './messages.js';
import { tagOutputLines } from './request-context.js';
import { gateServer } from './request-gate.js';

/**
 * The host: the entry of an app's child process. It runs under Node's permission model, so it imports only
 * `node:` builtins and files of this folder. Tessera sends its settings as the first IPC message; the host
 * loads the app's entry, listens on the Unix socket and reports `ready`, `error` and a heartbeat. It exits
 * when the IPC channel closes, so an app never outlives the Tessera that started it.
 */

/** How long SIGTERM waits for `ctx.waitUntil` work before exiting; Tessera's SIGKILL grace is longer. */
const DRAIN_MS = 4000;

function send(message: HostMessage, then?: () => void): void {
  if (!process.connected || !process.send) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
}

function failStart(error: unknown): void {
  const reason = error instanceof EntryError ? error.message : firstLines(error);
  send({ type: 'error', reason }, () => process.exit(1));
}

async function serverFor(settings: HostSettings): Promise<Server> {
  const form = await loadEntry(settings.entry);
  if (form.kind === 'server') return form.server;
  if (form.kind === 'listener') return createServer(form.listener);
  return createServer(fetchListener(form.handler, fetchEnv(settings.envNames)));
}

/** The `[env]` entries and `TESSERA_*`: not PATH, HOME and the like, which the app did not ask for. */
function fetchEnv(names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (names.includes(name) || name.startsWith('TESSERA_'))) env[name] = value;
  }
  return env;
}

async function run(settings: HostSettings): Promise<void> {
  tagOutputLines();
  startHeartbeat((message) => send(message));
  const server = await serverFor(settings);
  gateServer(server, settings);
  // Tessera answers 504 itself at the timeout; this only bounds a request whose body never ends.
  server.requestTimeout = (settings.requestTimeoutS + 5) * 1000;
  server.on('error', failStart);
  server.listen(settings.socketPath, () => send({ type: 'ready' }));
  process.once('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    const drained = Promise.allSettled([...pendingWork]);
    const timeout = new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref());
    void Promise.race([drained, timeout]).then(() => process.exit(0));
  });
}

process.on('disconnect', () => process.exit(0));
process.once('message', (message: unknown) => {
  if (!isHostSettings(message)) {
    console.error('tessera app host: the first IPC message is not the settings');
    process.exit(2);
  }
  run(message).catch(failStart);
});

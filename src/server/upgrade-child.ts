/**
 * The new release's server for an upgrade step, in a process of its own: started by spawn.ts with an IPC
 * channel, told what to start over it, and stopped over it. The upgrade process thus never loads the
 * server, and its own heap (the backup's) is not the floor the server's is added to.
 */
import { isTesseraError } from '../errors.js';
import type { FromServerProcess, ToServerProcess } from '../upgrade/server-process/protocol.js';
import { type RunningServer, startServer } from './start.js';

/** A server that does not close within this is left to the exit: the lock and sockets go with the process. */
const CLOSE_WAIT_MS = 15_000;

let server: RunningServer | undefined;
let stopping = false;

function send(message: FromServerProcess): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Closes the server (its node lock and row go with it) and exits; `report` when the parent still listens. */
async function stop(report: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(1), CLOSE_WAIT_MS);
  timer.unref();
  await server?.close().catch((error: unknown) => {
    process.stderr.write(`closing the server failed: ${(error as Error).stack ?? String(error)}\n`);
  });
  if (report) await send({ type: 'stopped', peakRssMb: peakRssMb() });
  process.exit(0);
}

async function start(options: Extract<ToServerProcess, { type: 'start' }>['options']): Promise<void> {
  try {
    server = await startServer({
      home: options.home,
      port: 0,
      host: '127.0.0.1',
      stdoutLogs: false,
      logLevel: 'warn',
      // Staging holds production's node rows as they were; the smoke test's row-count comparison needs them.
      pruneGoneNodes: false,
      readOnlyStoreDatabases: options.readOnlyStoreDatabases,
    });
  } catch (error) {
    await send({
      type: 'failed',
      code: isTesseraError(error) ? error.code : undefined,
      message: error instanceof Error ? error.message : String(error),
      hint: isTesseraError(error) ? error.hint : undefined,
    });
    process.exit(1);
  }
  // The parent may have gone while the server started: then nobody would ever stop it.
  if (!process.connected) return stop(false);
  await send({ type: 'ready', url: server.url });
}

if (process.send === undefined) {
  process.stderr.write(
    'This is the server process of tessera upgrade: it runs only when the upgrade starts it.\n',
  );
  process.exit(2);
}
// The channel closes when the upgrade process ends, however it ends (kill -9 included): no orphan server.
process.on('disconnect', () => void stop(false));
// Ctrl-C on the terminal reaches the whole process group, this child too: it stops as a node stops, its
// node row removed, so that a resumed smoke test finds staging's row counts as they were.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(false));
process.on('message', (message: ToServerProcess) => {
  if (message.type === 'start' && server === undefined) void start(message.options);
  else if (message.type === 'stop') void stop(true);
});

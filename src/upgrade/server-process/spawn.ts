import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type ErrorCode, TesseraError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import type {
  FromServerProcess,
  ServerStarter,
  ServerStopReport,
  ToServerProcess,
  UpgradeServer,
} from './protocol.js';

/** The compiled child entry: tests run the upgrade from src/, but a child process runs JavaScript. */
export const SERVER_PROCESS_ENTRY = path.join(PACKAGE_ROOT, 'dist', 'server', 'upgrade-child.js');

const START_WAIT_MS = 60_000;
const STOP_WAIT_MS = 30_000;
/** The end of the child's stderr kept for a failure message: enough for a stack trace. */
const STDERR_TAIL_CHARS = 4_000;

/**
 * The default ServerStarter: the new release in a child process (src/server/upgrade-child.ts) over an IPC channel. A child
 * that fails or exits before it serves is reported with its own message, or else its stderr.
 */
export const spawnServerProcess: ServerStarter = async (options) => {
  if (!existsSync(SERVER_PROCESS_ENTRY)) {
    throw new TesseraError('INTERNAL', `The upgrade's server process ${SERVER_PROCESS_ENTRY} is missing.`, {
      hint: 'Build Tessera (npm run build), then resume the upgrade with --resume.',
    });
  }
  // No inherited execArgv: a test runner's loader flags are not the release's.
  const child = fork(SERVER_PROCESS_ENTRY, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', (error) => resolve(error.message));
  });

  const answer = nextMessage(child);
  // A child that cannot take the message has exited, which `exited` reports.
  send(child, { type: 'start', options }).catch(() => {});
  const started = await Promise.race([
    answer,
    exited.then((status) => ({ type: 'exited' as const, status })),
    delay(START_WAIT_MS).then(() => ({ type: 'timeout' as const })),
  ]);
  if (started.type === 'ready') return runningServer(child, started.url, exited);

  child.kill('SIGKILL');
  await exited;
  if (started.type === 'failed') {
    throw new TesseraError(
      isErrorCode(started.code) ? started.code : 'SMOKE_FAILED',
      `The new release did not start: ${started.message}`,
      { hint: started.hint ?? hintFor(options.home) },
    );
  }
  const why =
    started.type === 'timeout'
      ? `did not answer within ${START_WAIT_MS / 1000} s`
      : `exited (${String(started.type === 'exited' ? started.status : '')}) before it served`;
  const tail = stderr.trim();
  throw new TesseraError(
    'SMOKE_FAILED',
    `The new release's server process ${why}${tail ? `; its stderr:\n${tail}` : ' and wrote nothing on stderr.'}`,
    { hint: hintFor(options.home) },
  );
};

function runningServer(
  child: ChildProcess,
  url: string,
  exited: Promise<number | string | null>,
): UpgradeServer {
  let closing: Promise<ServerStopReport> | undefined;
  const close = async (): Promise<ServerStopReport> => {
    if (child.exitCode !== null || child.signalCode !== null) return { peakRssMb: undefined };
    const stopped = nextMessage(child).then((message) =>
      message.type === 'stopped' ? message.peakRssMb : undefined,
    );
    await send(child, { type: 'stop' }).catch(() => {});
    const peakRssMb = await Promise.race([
      stopped,
      exited.then(() => undefined),
      delay(STOP_WAIT_MS).then(() => {
        child.kill('SIGKILL');
        return undefined;
      }),
    ]);
    await exited;
    return { peakRssMb };
  };
  return {
    url,
    pid: child.pid,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

function nextMessage(child: ChildProcess): Promise<FromServerProcess> {
  return new Promise((resolve) => child.once('message', (message) => resolve(message as FromServerProcess)));
}

function send(child: ChildProcess, message: ToServerProcess): Promise<void> {
  return new Promise((resolve, reject) =>
    child.send(message, (error) => (error ? reject(error) : resolve())),
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function hintFor(home: string): string {
  return `See ${path.join(home, 'logs', 'tessera.log')}, fix the cause, and resume the upgrade with --resume.`;
}

/**
 * The child reports codes of this same build (a refused schema keeps its exit code 2), but a string off the
 * wire is checked before it is trusted: only a known code has an HTTP status.
 */
function isErrorCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && new TesseraError(code as ErrorCode, '').httpStatus !== undefined;
}

import type { DatabaseTarget } from '../../db/url.js';

/**
 * What an upgrade step asks of the new release's server: the home to start it on and the databases it must
 * not write. The rest is fixed for an upgrade (a free port on 127.0.0.1, quiet logs, node rows kept).
 */
export interface UpgradeServerOptions {
  home: string;
  /** Store databases the old home still uses: opened read-only (see StartOptions.readOnlyStoreDatabases). */
  readOnlyStoreDatabases?: readonly DatabaseTarget[];
}

/** A server an upgrade step started; `close` stops it and says what it cost. */
export interface UpgradeServer {
  url: string;
  /** The process the server runs in, when it has one of its own. */
  pid: number | undefined;
  close(): Promise<ServerStopReport>;
}

export interface ServerStopReport {
  /** The peak resident memory of the process the server ran in, in MB; undefined when not known. */
  peakRssMb: number | undefined;
}

/**
 * How an upgrade step starts the new release. The default runs it in a child process (server-process/
 * spawn.ts), so that the upgrade process neither imports the server nor carries its heap on top of its own.
 */
export type ServerStarter = (options: UpgradeServerOptions) => Promise<UpgradeServer>;

/** Parent to child, over the IPC channel (never argv or the environment: targets may hold passwords). */
export type ToServerProcess = { type: 'start'; options: UpgradeServerOptions } | { type: 'stop' };

/** Child to parent. */
export type FromServerProcess =
  | { type: 'ready'; url: string }
  | { type: 'failed'; code: string | undefined; message: string; hint: string | undefined }
  | { type: 'stopped'; peakRssMb: number };

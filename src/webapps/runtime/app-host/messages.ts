/**
 * The IPC messages between Tessera and an app's host. The settings travel here, never in argv or the
 * environment: another process of the same user may read `/proc/<pid>/cmdline` and `/proc/<pid>/environ`,
 * and the key must not leak. This file is imported by the host, so it imports nothing.
 */

/** Tessera -> host, the first message. */
export interface HostSettings {
  readonly type: 'settings';
  /** The Unix socket to listen on. */
  readonly socketPath: string;
  /** Every request and upgrade must carry it in `keyHeader`. */
  readonly key: string;
  readonly keyHeader: string;
  readonly requestIdHeader: string;
  /** The absolute path of the app's entry. */
  readonly entry: string;
  readonly requestTimeoutS: number;
  /** The `[env]` names: with the `TESSERA_*` variables, what a fetch handler gets as `env`. */
  readonly envNames: readonly string[];
}

/** Host -> Tessera. */
export type HostMessage =
  | { readonly type: 'ready' }
  /** The entry could not be loaded or has no accepted form; the host exits non-zero after sending it. */
  | { readonly type: 'error'; readonly reason: string }
  | {
      readonly type: 'heartbeat';
      readonly rss: number;
      readonly heapUsed: number;
      /** Event-loop utilisation (0..1) since the previous heartbeat. */
      readonly elu: number;
    };

export function isHostSettings(value: unknown): value is HostSettings {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.type === 'settings' &&
    typeof v.socketPath === 'string' &&
    typeof v.key === 'string' &&
    typeof v.keyHeader === 'string' &&
    typeof v.requestIdHeader === 'string' &&
    typeof v.entry === 'string' &&
    typeof v.requestTimeoutS === 'number' &&
    Array.isArray(v.envNames)
  );
}

export function isHostMessage(value: unknown): value is HostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'error' || type === 'heartbeat';
}

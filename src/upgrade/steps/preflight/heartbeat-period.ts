import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';

/** The server's default `cluster.heartbeat_seconds`. */
export const DEFAULT_HEARTBEAT_SECONDS = 10;

/**
 * How often the old release's nodes heartbeat, from its config (`[cluster] heartbeat_seconds`, 2.0 on), or
 * the default when the config does not say. The plan already read and validated this file.
 */
export function heartbeatPeriodMs(configFile: string): number {
  let raw: Record<string, unknown>;
  try {
    raw = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return DEFAULT_HEARTBEAT_SECONDS * 1000;
  }
  const cluster = raw.cluster as Record<string, unknown> | undefined;
  const seconds = cluster?.heartbeat_seconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : DEFAULT_HEARTBEAT_SECONDS * 1000;
}

import { readFileSync } from 'node:fs';
import { peekInteger } from '../../../config/peek.js';

/**
 * How often the old release's nodes heartbeat, from its config (`[cluster] heartbeat_seconds`, 2.0 on), or
 * the key table's default when the config does not say, says what a server would refuse, or cannot be read.
 */
export function heartbeatPeriodMs(configFile: string): number {
  let source = '';
  try {
    source = readFileSync(configFile, 'utf8');
  } catch {
    // The default, as for a config that leaves the key out.
  }
  return peekInteger(source, 'cluster.heartbeat_seconds') * 1000;
}

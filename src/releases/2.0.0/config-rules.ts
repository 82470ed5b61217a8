import { CONFIG_KEYS } from '../../config/keys.js';
import { carry, fill, rename, replaceWith } from '../config/rules.js';
import type { HopRules } from '../config/types.js';

/** A key new in 2.0 starts at the default the 2.0 loader assumes when it is left out. */
const defaultOf = (
  key: 'server.host' | 'database.pool_size' | 'cluster.heartbeat_seconds' | 'deployment.hot_deploy',
) => CONFIG_KEYS[key].default;

/**
 * Tessera 2.0: `server.hostname` became `server.host`, passwords are argon2id, and the pool, cluster and
 * deployment settings are new. Every 1.1 key is listed: what is not here was never read by 1.1.
 */
export const CONFIG_1_1_TO_2_0: HopRules = {
  from: '1.1',
  to: '2.0',
  keys: {
    format: replaceWith('format', '2.0', 'the file is now in the 2.0 format'),
    'server.port': carry(),
    // The operator's value is kept: an installation bound to localhost stays bound to localhost.
    'server.hostname': rename('server.host'),
    'database.url': carry(),
    'user_store.password_hash': replaceWith(
      'security.password_hash',
      'argon2id',
      '2.0 stores argon2id hashes; legacy SHA-256 hashes are still verified and re-hashed at the next login',
    ),
    'logging.level': carry(),
  },
  defaults: [
    fill('server.host', defaultOf('server.host'), 'the 2.0 default (the old file set no host name)'),
    fill('database.pool_size', defaultOf('database.pool_size'), 'new in 2.0'),
    fill(
      'cluster.heartbeat_seconds',
      defaultOf('cluster.heartbeat_seconds'),
      'new in 2.0: nodes register and heartbeat in the database',
    ),
    fill(
      'deployment.hot_deploy',
      defaultOf('deployment.hot_deploy'),
      'new in 2.0; 1.x always deployed webapps while running',
    ),
  ],
};

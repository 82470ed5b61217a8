import { carry, fill, replaceWith } from '../config/rules.js';
import type { HopRules } from '../config/types.js';

/**
 * Tessera 2.1: app versions are kept in the database, and `deployment.keep_versions` says how many per app.
 * Every other 2.0 key keeps its name and value. `server.public_url` (new, optional: the base of OpenID Connect
 * issuers) is left unset, as a 2.0 node built its URLs from nothing else either: unset, a node derives it from
 * its listen address and port. Every 2.0 key is listed (as 2.0.0 and 2.0.1 read them): what
 * is not here was never read by 2.0. The values are written out rather than taken from the key table, so
 * that a later release changing a default cannot change what this hop wrote.
 */
export const CONFIG_2_0_TO_2_1: HopRules = {
  from: '2.0',
  to: '2.1',
  keys: {
    format: replaceWith('format', '2.1', 'the file is now in the 2.1 format'),
    'server.port': carry(),
    'server.host': carry(),
    'database.url': carry(),
    'database.pool_size': carry(),
    'security.password_hash': carry(),
    'logging.level': carry(),
    'cluster.heartbeat_seconds': carry(),
    'cache.redis': carry(),
    'deployment.hot_deploy': carry(),
    'deployment.max_apps_per_tenant': carry(),
    'deployment.max_tenant_mb': carry(),
    'deployment.max_app_mb': carry(),
    'deployment.max_upload_mb': carry(),
    'deployment.backup_retention_count': carry(),
    'deployment.backup_retention_days': carry(),
    'registry.mounts': carry(),
    'userstores.allowed_hosts': carry(),
    'userstores.connect_timeout_ms': carry(),
  },
  defaults: [
    fill(
      'deployment.keep_versions',
      5,
      'new in 2.1: versions of each app kept in the database for rollback (2.0 kept none there)',
    ),
  ],
};

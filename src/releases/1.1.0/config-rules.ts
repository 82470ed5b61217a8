import { carry, fill, rename } from '../config/rules.js';
import type { HopRules } from '../config/types.js';

/**
 * Tessera 1.1 renamed most keys and introduced the `format` marker. Every 1.0 key is listed: what is not
 * here was never read by 1.0.
 */
export const CONFIG_1_0_TO_1_1: HopRules = {
  from: '1.0',
  to: '1.1',
  keys: {
    'http.port': rename('server.port'),
    'database.dsn': rename('database.url'),
    // 1.1 moved the password settings to the user store section; the algorithm itself is unchanged.
    'security.hash_algorithm': rename('user_store.password_hash'),
    'logging.level': carry(),
  },
  defaults: [fill('format', '1.1', '1.1 files name their format; 1.0 files had no format key')],
};

import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';
import type { AppLaunch } from './contract.js';

/** The host runs from the build (`npm run build`), also when Tessera itself runs from `src/` in tests. */
export const HOST_ENTRY = path.join(PACKAGE_ROOT, 'dist', 'webapps', 'runtime', 'app-host', 'main.js');

/** Taken from Tessera's environment when set; nothing else of it reaches an app (it holds secrets). */
const PASSED_THROUGH = ['PATH', 'HOME', 'TZ', 'LANG'] as const;

/**
 * `[env]` names never given to an app's process, because they would undo its limits before the host runs:
 * `NODE_OPTIONS` accepts `--allow-child-process` and the other permission flags, `LD_PRELOAD` and
 * `DYLD_*` load native code, `OPENSSL_CONF` can load an engine. `NODE_ENV` is the one `NODE_` name allowed.
 */
export function refusedEnvName(name: string): boolean {
  if (name === 'NODE_ENV') return false;
  return /^(?:NODE_|LD_|DYLD_|OPENSSL_)/.test(name);
}

/** With a trailing separator, a permission path allows the folder and everything below it. */
function folder(p: string): string {
  return p.endsWith(path.sep) ? p : `${p}${path.sep}`;
}

/**
 * Node's permission model: read only the app, the host and the data folder, write only the data folder, no child processes,
 * no workers (neither `--allow-child-process` nor `--allow-worker` is given). Node 20.20 takes one path per
 * `--allow-fs-*` flag (a comma-separated list is refused with a warning). Module resolution's
 * `package.json` lookups above the allowed folders are internal reads Node does not check, so neither the
 * host (`type: module` from Tessera's package.json) nor an app needs more.
 */
export function hostArguments(launch: AppLaunch, dataDir: string, hostEntry: string): string[] {
  return [
    '--experimental-permission',
    `--allow-fs-read=${folder(launch.root)}`,
    `--allow-fs-read=${folder(path.dirname(hostEntry))}`,
    `--allow-fs-read=${folder(dataDir)}`,
    `--allow-fs-write=${folder(dataDir)}`,
    `--max-old-space-size=${launch.config.limits.memoryMb}`,
    // The permission model's ExperimentalWarning would start every app's log.
    '--disable-warning=ExperimentalWarning',
    hostEntry,
  ];
}

/** The app's `[env]`, the `TESSERA_*` variables, NODE_ENV and a few of Tessera's: never the rest of it. */
export function hostEnvironment(launch: AppLaunch, dataDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(launch.config.env)) {
    if (!refusedEnvName(name)) env[name] = value;
  }
  env.TESSERA_TENANT = launch.tenantDomain;
  env.TESSERA_APP = launch.name;
  env.TESSERA_APP_VERSION = launch.version;
  env.TESSERA_DATA_DIR = dataDir;
  env.NODE_ENV ??= 'production';
  return env;
}

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_CONFIG_FILE } from './app-config.js';
import { AppConfigError } from './errors.js';
import type { AppConfig } from './runtime/contract.js';

/**
 * For a `node` app, refuses an `entry` that is not a regular file inside the app once symlinks are
 * resolved: the process may read only its app folder, so an entry elsewhere could not even load, and a
 * link out of the folder is not the app's code. `root` is the unpacked app (for a zip, where it is
 * extracted or staged). Static apps pass untouched.
 */
export async function assertEntryInsideApp(root: string, config: AppConfig): Promise<void> {
  if (config.runtime !== 'node' || config.entry === undefined) return;
  const entry = config.entry;
  const file = path.join(root, APP_CONFIG_FILE);
  const refuse = (why: string, cause?: unknown): never => {
    throw new AppConfigError(file, `${APP_CONFIG_FILE}: entry "${entry}" ${why}`, { cause });
  };
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(path.join(realRoot, entry));
  } catch (error) {
    return refuse('does not exist in the app', error);
  }
  if (!real.startsWith(realRoot + path.sep))
    return refuse('leads outside the app folder (through a symlink); the entry must be a file inside it');
  const info = await stat(real);
  if (!info.isFile()) refuse('is not a regular file');
}

import { cp, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FOLDER_MODE } from '../../home/private-modes.js';

/**
 * Copies an app's deployed folder to `target`, the folder one started version runs from: a redeploy
 * replaces the extracted zip and a folder app is edited in place, and neither may change the files under
 * a process still running (or draining). Symbolic links are copied as links, unchanged, so the relative
 * ones `npm install` makes in `node_modules/.bin` point inside the copy. Resolves with the copy's real path
 * (the permission model compares real paths).
 */
export async function copyForRun(source: string, target: string): Promise<string> {
  await mkdir(path.dirname(target), { recursive: true, mode: PRIVATE_FOLDER_MODE });
  await cp(source, target, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
  return realpath(target);
}

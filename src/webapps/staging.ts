import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FOLDER_MODE } from '../home/private-modes.js';

/*
 * Extracted apps are built in a scratch folder next to their final place and renamed into it, so a
 * request never sees a half-extracted app and a failed extraction leaves nothing behind. Scratch names
 * start with a dot, which no app name can, so they never collide with an app.
 */

/** A new empty folder inside `parent` (created if needed) to extract into. */
export async function createStagingFolder(parent: string, label: string): Promise<string> {
  await mkdir(parent, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  return mkdtemp(path.join(parent, `.staging-${label}-`));
}

/**
 * Puts `staged` at `target`, replacing whatever was there. The old folder is renamed aside before it is
 * deleted so that the swap itself is two renames; files already being streamed from it stay readable
 * until their requests end (open descriptors outlive the unlink).
 */
export async function replaceFolder(staged: string, target: string): Promise<void> {
  const retired = path.join(
    path.dirname(target),
    `.retired-${path.basename(target)}-${randomBytes(4).toString('hex')}`,
  );
  let hadPrevious = true;
  try {
    await rename(target, retired);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadPrevious = false;
  }
  await rename(staged, target);
  if (hadPrevious) await rm(retired, { recursive: true, force: true });
}

export async function removeFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

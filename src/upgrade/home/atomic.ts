import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from '../../home/private-modes.js';

/** A hidden name beside `file` for a temporary copy; a crash may leave it, the next mirror removes it. */
export function temporaryName(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.tessera-${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Writes a file whole or not at all: a temporary file renamed over the target. */
export async function writeFileAtomic(
  file: string,
  content: string,
  mode = PRIVATE_FILE_MODE,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryName(file);
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Copies a file whole or not at all (the mode comes along with the content). */
export async function copyFileAtomic(source: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporaryName(target);
  try {
    await copyFile(source, temporary);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

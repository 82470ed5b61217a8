import { existsSync } from 'node:fs';
import { mkdir, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { TesseraError } from '../../../errors.js';
import { copyFileAtomic } from '../../home/atomic.js';
import { hashFile, readTree, type Tree, treeDifferences, treeDigest } from './tree.js';

export interface MirrorOptions {
  /** Top-level entries of both folders left alone (copied by another unit, in its own time). */
  exclude?: readonly string[];
  /** Told once per file looked at, with its size: for progress. */
  onFile?: (bytes: number) => void;
}

export interface MirrorResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  /** Files and links written because the target lacked them or held something else. */
  copied: number;
  unchanged: number;
  /** Target entries the source does not have (e.g. a temporary file a killed run left). */
  removed: number;
  /** sha256 over the verified tree: paths, types, sizes and contents. */
  digest: string;
  /** Source entries that are neither files, folders nor links, and were not copied. */
  skipped: string[];
}

/**
 * Makes `target` an exact copy of `source` (both read, only `target` written), then reads both again and
 * compares every path, size and sha256. Running it again over a partial copy completes it: only what
 * differs is written.
 */
export async function mirrorFolder(
  source: string,
  target: string,
  options: MirrorOptions = {},
): Promise<MirrorResult> {
  const exclude = options.exclude ?? [];
  const wanted = await readTree(source, { hash: true, exclude });
  await mkdir(target, { recursive: true });
  const present = await readTree(target, { hash: true, exclude });

  let removed = 0;
  for (const [relative, entry] of present.entries) {
    const expected = wanted.entries.get(relative);
    if (expected !== undefined && expected.type === entry.type) continue;
    await rm(path.join(target, relative), { recursive: true, force: true });
    removed++;
  }

  let copied = 0;
  let unchanged = 0;
  for (const [relative, entry] of wanted.entries) {
    const to = path.join(target, relative);
    const existing = present.entries.get(relative);
    switch (entry.type) {
      case 'directory':
        await mkdir(to, { recursive: true });
        break;
      case 'file':
        if (existing?.type === 'file' && existing.size === entry.size && existing.sha256 === entry.sha256)
          unchanged++;
        else {
          await copyFileAtomic(path.join(source, relative), to);
          copied++;
        }
        options.onFile?.(entry.size);
        break;
      case 'symlink':
        if (existing?.type === 'symlink' && existing.target === entry.target) unchanged++;
        else {
          await rm(to, { force: true });
          await symlink(entry.target, to);
          copied++;
        }
        break;
    }
  }

  const result = await readTree(target, { hash: true, exclude });
  assertSameTree(source, target, wanted, result);
  return {
    files: wanted.files,
    directories: wanted.directories,
    symlinks: wanted.symlinks,
    bytes: wanted.bytes,
    copied,
    unchanged,
    removed,
    digest: treeDigest(result),
    skipped: wanted.skipped,
  };
}

export interface FileCopyResult {
  bytes: number;
  sha256: string;
  copied: boolean;
}

/** Copies one file unless the target already has the same content, and checks the copy's sha256. */
export async function copyFileVerified(source: string, target: string): Promise<FileCopyResult> {
  const sha256 = await hashFile(source);
  const { size } = await stat(source);
  const same =
    existsSync(target) && (await stat(target)).size === size && (await hashFile(target)) === sha256;
  if (!same) await copyFileAtomic(source, target);
  const written = await hashFile(target);
  if (written !== sha256) {
    throw new TesseraError(
      'VERIFY_FAILED',
      `The copy of ${source} at ${target} does not match it (sha256 differs).`,
      {
        hint: 'Check the disk holding the new home, then resume the upgrade.',
      },
    );
  }
  return { bytes: size, sha256, copied: !same };
}

function assertSameTree(source: string, target: string, expected: Tree, actual: Tree): void {
  const differences = treeDifferences(expected, actual);
  if (differences.length === 0) return;
  const shown = differences.slice(0, 5).join('; ');
  const more = differences.length > 5 ? ` and ${differences.length - 5} more` : '';
  throw new TesseraError(
    'VERIFY_FAILED',
    `The copy of ${source} at ${target} does not match it: ${shown}${more}.`,
    {
      hint: 'Check the disk holding the new home (space, permissions), then resume the upgrade.',
    },
  );
}

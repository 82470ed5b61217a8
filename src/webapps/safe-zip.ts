import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../home/private-modes.js';
import { ArchiveRefusedError } from './errors.js';

/** Bounds on what one archive may expand to, so a zip bomb fills neither the disk nor the inode table. */
export interface ExtractionLimits {
  /** Sum of the uncompressed sizes of all entries. */
  maxBytes: number;
  maxEntries: number;
}

export const DEFAULT_EXTRACTION_LIMITS: Readonly<ExtractionLimits> = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxEntries: 20_000,
});

export interface ExtractionSummary {
  files: number;
  directories: number;
  bytes: number;
}

/** An entry that passed every check, with the path it will be written to. */
interface PlannedEntry {
  entry: Entry;
  name: string;
  target: string;
  kind: 'file' | 'directory';
}

// Unix file types in the high 16 bits of an entry's external attributes (see `man 7 inode`).
const FILE_TYPE_MASK = 0o170000;
const REGULAR_FILE = 0o100000;
const DIRECTORY = 0o040000;
const SYMBOLIC_LINK = 0o120000;

const STORED = 0;
const DEFLATED = 8;

/**
 * Extracts `zipPath` into `destination`, an existing empty folder. Every entry is checked before the
 * first byte is written: one entry that would escape the folder, is a symlink or device, or breaks the
 * limits refuses the whole archive with an `ArchiveRefusedError` naming it. Files are written with
 * fixed modes (0644, folders 0755) whatever the archive says, so no executable or setuid bit gets in.
 * On failure `destination` may hold part of the archive: the caller extracts into a scratch folder and
 * removes it (see `staging.ts`).
 */
export async function extractZip(
  zipPath: string,
  destination: string,
  limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS,
): Promise<ExtractionSummary> {
  const zipfile = await openZip(zipPath);
  try {
    const plan = await planExtraction(zipfile, destination, limits);
    return await writeEntries(zipfile, plan, limits);
  } finally {
    zipfile.close();
  }
}

async function openZip(zipPath: string): Promise<ZipFile> {
  try {
    // decodeStrings: false so that yauzl hands over raw names: this module validates them itself and
    // names the offending entry, instead of yauzl's own check failing the read with a bare message.
    return await yauzl.openPromise(zipPath, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    throw new ArchiveRefusedError('malformed', `not a readable zip archive: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

async function planExtraction(
  zipfile: ZipFile,
  destination: string,
  limits: ExtractionLimits,
): Promise<PlannedEntry[]> {
  if (zipfile.entryCount > limits.maxEntries) {
    throw new ArchiveRefusedError(
      'too-large',
      `the archive has ${zipfile.entryCount} entries, more than the limit of ${limits.maxEntries}`,
    );
  }
  const plan: PlannedEntry[] = [];
  const files = new Set<string>();
  const directories = new Set<string>();
  let declaredBytes = 0;
  let firstOver: string | undefined;
  try {
    for await (const entry of zipfile.eachEntry()) {
      const name = entryName(entry);
      const kind = entryKind(entry, name);
      const segments = entryPathSegments(name);
      if (segments.length === 0) continue; // `./` and the like: the app folder itself
      if (entry.isEncrypted()) {
        throw new ArchiveRefusedError('malformed', `entry "${name}" is encrypted`, { entry: name });
      }
      if (kind === 'file' && entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
        throw new ArchiveRefusedError(
          'malformed',
          `entry "${name}" uses unsupported compression method ${entry.compressionMethod}`,
          { entry: name },
        );
      }
      declaredBytes += entry.uncompressedSize;
      // Read on to the end: the refusal then says how big the whole archive claims to be.
      if (declaredBytes > limits.maxBytes) firstOver ??= name;
      checkNoClash(name, segments, kind, files, directories);
      const target = path.join(destination, ...segments);
      assertInside(destination, target, name);
      plan.push({ entry, name, target, kind });
    }
  } catch (error) {
    if (error instanceof ArchiveRefusedError) throw error;
    throw new ArchiveRefusedError('malformed', `the archive's directory is damaged: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (firstOver !== undefined) {
    throw new ArchiveRefusedError(
      'too-large',
      `the archive expands to ${declaredBytes} bytes, more than the limit of ${limits.maxBytes} bytes ` +
        `(at entry "${firstOver}")`,
      { entry: firstOver, bytes: declaredBytes, counted: 'declared' },
    );
  }
  return plan;
}

/**
 * The folders and file name an entry's path is made of, or a refusal when it could land outside the
 * extraction folder: `..` segments, absolute paths, drive letters, backslashes (a separator on Windows,
 * and a way to smuggle `..\` past a check that only splits on `/`) and NUL bytes.
 */
export function entryPathSegments(name: string): string[] {
  const refuse = (why: string): never => {
    throw new ArchiveRefusedError('unsafe-entry', `entry "${name}" ${why}`, { entry: name });
  };
  if (name.includes('\0')) refuse('contains a NUL byte');
  if (name.includes('\\')) refuse('contains a backslash');
  if (name.startsWith('/')) refuse('is an absolute path');
  if (/^[a-zA-Z]:/.test(name)) refuse('starts with a drive letter');
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') refuse('escapes the app folder with ".."');
    segments.push(segment);
  }
  return segments;
}

function entryName(entry: Entry): string {
  // strictFileNames: true keeps backslashes as they are, so entryPathSegments sees and refuses them.
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

/** Plain files and folders only; the unix file type sits in the high half of the external attributes. */
function entryKind(entry: Entry, name: string): 'file' | 'directory' {
  const fileType = (entry.externalFileAttributes >>> 16) & FILE_TYPE_MASK;
  if (fileType === SYMBOLIC_LINK) {
    throw new ArchiveRefusedError('unsafe-entry', `entry "${name}" is a symbolic link`, { entry: name });
  }
  if (fileType !== 0 && fileType !== REGULAR_FILE && fileType !== DIRECTORY) {
    throw new ArchiveRefusedError('unsafe-entry', `entry "${name}" is not a regular file or folder`, {
      entry: name,
    });
  }
  return name.endsWith('/') || fileType === DIRECTORY ? 'directory' : 'file';
}

/** Refuses duplicate files and a file where a folder is needed (or the other way round). */
function checkNoClash(
  name: string,
  segments: string[],
  kind: 'file' | 'directory',
  files: Set<string>,
  directories: Set<string>,
): void {
  const clash = (): never => {
    throw new ArchiveRefusedError(
      'malformed',
      `entry "${name}" clashes with another entry of the same path`,
      {
        entry: name,
      },
    );
  };
  for (let depth = 1; depth < segments.length; depth++) {
    const parent = segments.slice(0, depth).join('/');
    if (files.has(parent)) clash();
    directories.add(parent);
  }
  const own = segments.join('/');
  if (files.has(own)) clash();
  if (kind === 'file') {
    if (directories.has(own)) clash();
    files.add(own);
  } else {
    directories.add(own);
  }
}

/** A second line of defence after `entryPathSegments`: the joined path must stay under `destination`. */
function assertInside(destination: string, target: string, name: string): void {
  const relative = path.relative(destination, target);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new ArchiveRefusedError('unsafe-entry', `entry "${name}" escapes the app folder`, { entry: name });
  }
}

async function writeEntries(
  zipfile: ZipFile,
  plan: PlannedEntry[],
  limits: ExtractionLimits,
): Promise<ExtractionSummary> {
  const summary: ExtractionSummary = { files: 0, directories: 0, bytes: 0 };
  for (const { entry, name, target, kind } of plan) {
    if (kind === 'directory') {
      await mkdir(target, { recursive: true, mode: PRIVATE_FOLDER_MODE });
      summary.directories++;
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true, mode: PRIVATE_FOLDER_MODE });
    try {
      const source = await zipfile.openReadStreamPromise(entry);
      // 'wx': the plan has no duplicates, so an existing file means something raced us; never overwrite.
      await pipeline(
        source,
        byteBudget(summary, limits, name),
        createWriteStream(target, { flags: 'wx', mode: PRIVATE_FILE_MODE }),
      );
    } catch (error) {
      if (error instanceof ArchiveRefusedError || isFilesystemError(error)) throw error;
      if (/too many bytes/.test(messageOf(error))) {
        // yauzl's own check: the entry inflates past the size the zip's directory declared for it.
        throw new ArchiveRefusedError(
          'malformed',
          `entry "${name}" inflates to more than the ${entry.uncompressedSize} bytes the archive's directory declares`,
          { entry: name, cause: error },
        );
      }
      throw new ArchiveRefusedError('malformed', `entry "${name}" cannot be read: ${messageOf(error)}`, {
        entry: name,
        cause: error,
      });
    }
    summary.files++;
  }
  return summary;
}

/**
 * Counts the bytes actually inflated. yauzl already checks each entry against its declared size, and
 * the declared sizes against the limit; this keeps the limit true even if one of those checks had a gap.
 */
function byteBudget(summary: ExtractionSummary, limits: ExtractionLimits, name: string): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      summary.bytes += chunk.length;
      if (summary.bytes > limits.maxBytes) {
        callback(
          new ArchiveRefusedError('too-large', `the archive expands to more than ${limits.maxBytes} bytes`, {
            entry: name,
            bytes: summary.bytes,
            counted: 'inflated',
          }),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}

/** Errors of the disk we write to (full, permissions), which are not the archive's fault. */
function isFilesystemError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

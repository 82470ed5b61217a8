import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Header, list, Pack, ReadEntry } from 'tar';
import { PRIVATE_FILE_MODE } from '../../home/private-modes.js';
import { hashingPassThrough } from './hashing.js';
import { verificationFailed } from './verification.js';

/** What of a folder goes into its archive: everything, except what is named here. */
export interface ArchiveSelection {
  /** Paths relative to the root left out, with everything under them. */
  skip?: readonly string[];
  /**
   * Files stored under `relative` with the content of `source` instead of the file there (a consistent
   * copy of a live database file); the file at `relative` itself is not read.
   */
  substitutes?: readonly { relative: string; source: string }[];
}

export interface ArchiveFile {
  file: string;
  bytes: number;
  sha256: string;
}

export interface ArchiveListing {
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of all files, uncompressed. */
  fileBytes: number;
}

type EntryFacts =
  | { type: 'file'; size: number; sha256: string }
  | { type: 'directory' }
  | { type: 'symlink'; target: string }
  | { type: 'other'; name: string };

/** Writes `root` and everything under it, less the selection's exclusions, into a `.tar.gz` at `file`. */
export async function createArchive(
  root: string,
  file: string,
  selection: ArchiveSelection = {},
): Promise<ArchiveFile> {
  const skipped = skipTest(selection);
  const pack = new Pack({
    // Level 1: an embedded database makes most of a home's bytes, and the archive is written inside the outage.
    gzip: { level: 1 },
    cwd: root,
    // Substitutes come as ReadEntry objects and are always kept.
    filter: (entryPath, stat) => stat instanceof ReadEntry || !skipped(normalize(entryPath)),
  });
  for (const name of (await readdir(root)).sort()) if (!skipped(name)) pack.add(name);
  const feeds: Promise<void>[] = [];
  for (const substitute of selection.substitutes ?? []) {
    const entry = await substituteEntry(substitute.relative, substitute.source);
    pack.add(entry);
    feeds.push(feed(substitute.source, entry));
  }
  pack.end();
  const hashing = hashingPassThrough();
  await Promise.all([
    pipeline(pack, hashing.stream, createWriteStream(file, { mode: PRIVATE_FILE_MODE })),
    ...feeds,
  ]);
  const written = hashing.result();
  return { file, bytes: written.fileBytes, sha256: written.fileSha256 };
}

/**
 * tar reads files by their path under one folder; a substitute lives elsewhere, so its entry is made by
 * hand: a header with the substitute's size and the live file's name, then its content streamed in.
 */
async function substituteEntry(relative: string, source: string): Promise<ReadEntry> {
  const stat = await lstat(source);
  return new ReadEntry(
    new Header({
      path: relative,
      type: 'File',
      size: stat.size,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      mtime: stat.mtime,
    }),
  );
}

/** Streams `source` into the entry as fast as the archive takes it (the entry buffers until its turn). */
async function feed(source: string, entry: ReadEntry): Promise<void> {
  for await (const chunk of createReadStream(source)) {
    if (!entry.write(chunk as Buffer)) await once(entry, 'drain');
  }
  entry.end();
}

/**
 * Reads the archive back whole (every entry's content hashed) and compares it, entry by entry, with the
 * folder it was made from under the same selection. Throws listing the differences.
 */
export async function verifyArchive(
  file: string,
  root: string,
  selection: ArchiveSelection = {},
): Promise<ArchiveListing> {
  const archived = await listArchive(file);
  const expected = await describeFolder(root, selection);
  const problems: string[] = [];
  for (const [relative, facts] of expected) {
    const found = archived.get(relative);
    if (!found) problems.push(`${relative}: missing from the archive`);
    else if (JSON.stringify(found) !== JSON.stringify(facts))
      problems.push(`${relative}: differs in the archive`);
  }
  for (const relative of archived.keys()) {
    if (!expected.has(relative)) problems.push(`${relative}: in the archive but not in ${root}`);
  }
  if (problems.length > 0) throw verificationFailed(`The archive ${file} does not match ${root}`, problems);
  const facts = [...archived.values()];
  return {
    entries: facts.length,
    files: facts.filter((f) => f.type === 'file').length,
    directories: facts.filter((f) => f.type === 'directory').length,
    symlinks: facts.filter((f) => f.type === 'symlink').length,
    fileBytes: facts.reduce((sum, f) => sum + (f.type === 'file' ? f.size : 0), 0),
  };
}

async function listArchive(file: string): Promise<Map<string, EntryFacts>> {
  const entries = new Map<string, EntryFacts>();
  const pending: Promise<void>[] = [];
  await list({
    file,
    onReadEntry: (entry) => {
      const relative = normalize(entry.path);
      if (relative === '') return;
      if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
        const hash = createHash('sha256');
        entry.on('data', (chunk: Buffer) => hash.update(chunk));
        pending.push(
          new Promise((resolve) =>
            entry.on('end', () => {
              entries.set(relative, { type: 'file', size: entry.size, sha256: hash.digest('hex') });
              resolve();
            }),
          ),
        );
      } else if (entry.type === 'Directory') {
        entries.set(relative, { type: 'directory' });
      } else if (entry.type === 'SymbolicLink') {
        entries.set(relative, { type: 'symlink', target: entry.linkpath ?? '' });
      } else if (entry.type === 'Link') {
        // A hard link holds the content of the entry it names, archived before it.
        const target = entries.get(normalize(entry.linkpath ?? ''));
        entries.set(relative, target ?? { type: 'other', name: 'Link' });
      } else {
        entries.set(relative, { type: 'other', name: entry.type });
      }
    },
  });
  await Promise.all(pending);
  return entries;
}

/** What the archive of `root` under `selection` must hold. */
async function describeFolder(root: string, selection: ArchiveSelection): Promise<Map<string, EntryFacts>> {
  const skipped = skipTest(selection);
  const facts = new Map<string, EntryFacts>();
  const walk = async (relativeDir: string): Promise<void> => {
    for (const name of (await readdir(path.join(root, relativeDir))).sort()) {
      const relative = relativeDir === '' ? name : `${relativeDir}/${name}`;
      if (skipped(relative)) continue;
      const full = path.join(root, relative);
      const stat = await lstat(full);
      if (stat.isDirectory()) {
        facts.set(relative, { type: 'directory' });
        await walk(relative);
      } else if (stat.isSymbolicLink()) {
        facts.set(relative, { type: 'symlink', target: await readlink(full) });
      } else if (stat.isFile()) {
        facts.set(relative, await fileFacts(full));
      }
      // Sockets and FIFOs are not archived: tar has no content for them.
    }
  };
  await walk('');
  for (const substitute of selection.substitutes ?? []) {
    facts.set(substitute.relative, await fileFacts(substitute.source));
  }
  return facts;
}

async function fileFacts(file: string): Promise<EntryFacts> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { type: 'file', size, sha256: hash.digest('hex') };
}

function skipTest(selection: ArchiveSelection): (relative: string) => boolean {
  const skip = [...(selection.skip ?? []), ...(selection.substitutes ?? []).map((s) => s.relative)];
  return (relative) => skip.some((s) => relative === s || relative.startsWith(`${s}/`));
}

/** Archive paths without `./` in front or `/` behind. */
function normalize(entryPath: string): string {
  return entryPath
    .replace(/^(\.\/)+/, '')
    .replace(/^\.$/, '')
    .replace(/\/+$/, '');
}

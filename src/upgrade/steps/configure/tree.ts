import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

/** One entry of a folder tree, by its path relative to the tree's root (always with `/`). */
export type TreeEntry =
  | { type: 'directory' }
  | { type: 'file'; size: number; sha256: string | undefined }
  | { type: 'symlink'; target: string };

export interface Tree {
  entries: Map<string, TreeEntry>;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  /** Sockets, FIFOs and devices, which have no place in a home and are not copied. */
  skipped: string[];
}

export interface ReadTreeOptions {
  /** Hash every file (sha256); without it, sizes only (for dry runs). */
  hash: boolean;
  /** Top-level entry names left out (a tenant folder without its `userstores/`). */
  exclude?: readonly string[];
}

/** Reads a folder tree (not following symlinks); a missing folder is an empty tree. */
export async function readTree(root: string, options: ReadTreeOptions): Promise<Tree> {
  const tree: Tree = { entries: new Map(), files: 0, directories: 0, symlinks: 0, bytes: 0, skipped: [] };
  const exclude = new Set(options.exclude ?? []);
  const visit = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path.join(root, relative));
    } catch (error) {
      if (relative === '' && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      if (relative === '' && exclude.has(name)) continue;
      const child = relative === '' ? name : `${relative}/${name}`;
      const absolute = path.join(root, child);
      const info = await lstat(absolute);
      if (info.isDirectory()) {
        tree.entries.set(child, { type: 'directory' });
        tree.directories++;
        await visit(child);
      } else if (info.isFile()) {
        const sha256 = options.hash ? await hashFile(absolute) : undefined;
        tree.entries.set(child, { type: 'file', size: info.size, sha256 });
        tree.files++;
        tree.bytes += info.size;
      } else if (info.isSymbolicLink()) {
        tree.entries.set(child, { type: 'symlink', target: await readlink(absolute) });
        tree.symlinks++;
      } else {
        tree.skipped.push(child);
      }
    }
  };
  await visit('');
  return tree;
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One checksum for a whole (hashed) tree: equal trees, equal digests. */
export function treeDigest(tree: Tree): string {
  const hash = createHash('sha256');
  for (const [relative, entry] of [...tree.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`${relative}\0${describeEntry(entry)}\n`);
  }
  return hash.digest('hex');
}

/** The paths where two trees differ: missing, extra, or another type, size, content or link target. */
export function treeDifferences(expected: Tree, actual: Tree): string[] {
  const differences: string[] = [];
  for (const [relative, entry] of expected.entries) {
    const other = actual.entries.get(relative);
    if (other === undefined) differences.push(`${relative}: missing`);
    else if (describeEntry(entry) !== describeEntry(other)) differences.push(`${relative}: differs`);
  }
  for (const relative of actual.entries.keys()) {
    if (!expected.entries.has(relative)) differences.push(`${relative}: not in the source`);
  }
  return differences;
}

function describeEntry(entry: TreeEntry): string {
  switch (entry.type) {
    case 'directory':
      return 'd';
    case 'file':
      return `f ${entry.size} ${entry.sha256 ?? ''}`;
    case 'symlink':
      return `l ${entry.target}`;
  }
}

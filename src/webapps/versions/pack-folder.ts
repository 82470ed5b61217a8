import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ZipFile } from 'yazl';

/** Fixed in every entry, so that the same files make the same zip, and so the same checksum, every time. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');
const FILE_MODE = 0o644;

/**
 * A folder app as a zip the cluster can store: its regular files in path order, each with the same time
 * and mode, so that packing an unchanged folder again gives the same bytes. Links are left out, as the
 * deployer does not serve them either.
 */
export async function packFolder(folder: string): Promise<Buffer> {
  const files = (await regularFiles(folder)).sort();
  const zip = new ZipFile();
  for (const relative of files) {
    zip.addBuffer(await readFile(path.join(folder, relative)), relative, {
      mtime: FIXED_MTIME,
      mode: FILE_MODE,
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Paths relative to `folder`, with forward slashes, as a zip names its entries. */
async function regularFiles(folder: string): Promise<string[]> {
  const found: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop() as string;
    for (const entry of await readdir(path.join(folder, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) pending.push(child);
      else if (entry.isFile()) found.push(child);
    }
  }
  return found;
}

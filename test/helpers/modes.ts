import { lstatSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** `file`'s permission bits, e.g. 0o600. */
export function modeOf(file: string): number {
  return statSync(file).mode & 0o777;
}

/** Every file and folder under `root` (root included) that its group or others may use, with its mode. */
export function looseEntries(root: string): string[] {
  const loose: string[] = [];
  const visit = (entry: string) => {
    const stats = lstatSync(entry);
    if (stats.isSymbolicLink()) return;
    if ((stats.mode & 0o077) !== 0)
      loose.push(`${path.relative(root, entry) || '.'} ${(stats.mode & 0o777).toString(8)}`);
    if (stats.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name));
  };
  visit(root);
  return loose;
}

import { pathToFileURL } from 'node:url';

/**
 * Error lines as a tenant admin may read them in an app's status: Node's own stack frames
 * (`node:internal/...`) left out, as they say nothing about the app, and the app folder's absolute path
 * (plain or as a file: URL) taken out, as where the server keeps its home is none of their business.
 * Used inside the app's process (the host) and by its supervisor alike: imports only `node:` modules.
 */
export function readableLines(lines: readonly string[], appRoot: string): string[] {
  const folderUrl = `${pathToFileURL(appRoot).href}/`;
  const folder = `${appRoot}/`;
  return lines
    .filter((line) => !/^\s*at .*\bnode:internal\//.test(line))
    .map((line) => line.replaceAll(folderUrl, '').replaceAll(folder, ''));
}

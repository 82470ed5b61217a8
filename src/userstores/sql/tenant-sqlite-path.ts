import path from 'node:path';

/**
 * A tenant's admin names a SQLite store file relative to the tenant's own folder: `sqlite:partners.db` is
 * `repository/tenants/<id>/partners.db`, so they need not know the tenant's numeric id. Store files keep
 * one meaning whoever wrote them (relative to the home, as `database.url`, and as files written by hand
 * always were): the API rewrites a tenant admin's relative path into that form before anything opens it
 * and before the file is written. A relative path that starts with `repository/` is the home-relative form
 * already (what store files hold and the API answers with, and what tenant admins had to type before) and
 * is kept as it is; absolute paths are kept too. Other URLs are returned unchanged.
 */
export function homeRelativeSqliteUrl(url: string, tenantFolder: string, home: string): string {
  if (!url.startsWith('sqlite:')) return url;
  // As parseDatabaseUrl reads it: `sqlite:///abs` is the absolute path `/abs`.
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (file.length === 0 || path.isAbsolute(file) || isHomeRelative(file)) return url;
  return `sqlite:${path.join(path.relative(home, tenantFolder), file)}`;
}

/** The tenant's folder as the home-relative form names it (`repository/tenants/7`), for messages. */
export function homeRelativeFolder(tenantFolder: string, home: string): string {
  return path.relative(home, tenantFolder);
}

function isHomeRelative(file: string): boolean {
  return file.split(/[\\/]/)[0] === 'repository';
}

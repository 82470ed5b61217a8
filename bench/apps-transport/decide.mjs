// What Tessera decides per request before an app sees it (DESIGN.md section 4, "Applications"), reduced to
// its cost: find the app by mount, strip client X-Tessera-* headers, add X-Tessera-*/X-Forwarded-*, rewrite
// the path below the mount. Login is left out: it is the same cost for every transport (a session lookup).

export const MOUNT = '/t/acme.com/shop';
export const TENANT = 'acme.com';

/**
 * @param {string} url the path and query the client asked for
 * @param {Record<string, string | string[] | undefined>} headers the client's headers (not modified)
 * @param {string} remoteAddress
 * @returns {{ status: 404 } | { status: 0, path: string, headers: Record<string, string | string[]> }}
 */
export function decide(url, headers, remoteAddress) {
  if (!url.startsWith(MOUNT) || (url.length > MOUNT.length && !'/?'.includes(url[MOUNT.length]))) {
    return { status: 404 };
  }
  const rest = url.slice(MOUNT.length);
  const path = rest === '' || rest[0] === '?' ? `/${rest}` : rest;
  /** @type {Record<string, string | string[]>} */
  const out = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.startsWith('x-tessera-') || name === 'connection') continue;
    if (name === 'keep-alive' || name === 'proxy-connection' || name === 'upgrade') continue;
    out[name] = value;
  }
  out['x-tessera-tenant'] = TENANT;
  out['x-forwarded-prefix'] = MOUNT;
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-for'] = remoteAddress;
  return { status: 0, path, headers: out };
}

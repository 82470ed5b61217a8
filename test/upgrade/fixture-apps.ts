// Node apps added to an upgrade test's old home, beside the static ones every fixture home has (hello in the
// super tenant; portal, login-protected, and docs.zip in tenant 1), so that the smoke step has apps to start.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appDataFolder, homeLayout, webappsFolder } from '../../src/home/layout.js';

/** What the `ledger` app finds in its data folder: written into the old home, carried by configure. */
export const LEDGER_DATA = 'ledger data carried from the old home';

/**
 * `ledger`, a fetch handler with a health path that reads its data folder when it loads: it starts on the
 * new release only if configure carried the folder. Its `/data` answers what it read.
 */
const LEDGER = `
import { readFileSync } from 'node:fs';
import path from 'node:path';

const carried = readFileSync(path.join(process.env.TESSERA_DATA_DIR, 'carried.txt'), 'utf8');

export default {
  fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/healthz') return new Response('ok');
    if (pathname === '/data') return new Response(carried);
    return new Response('ledger', { status: 200 });
  },
};
`;

/** A node app whose entry throws while it loads, as an app written against an API the release removed. */
export const THROWS_AT_IMPORT = `
throw new Error('legacy-report needs the 1.x registry API, gone in this release');
`;

/** A node app whose entry ends its process while it loads. */
export const EXITS_AT_IMPORT = `
process.exit(3);
`;

/** A working replacement for either failing app: what an operator would put in after fixing it. */
export const FIXED_APP = `
export default { fetch: () => new Response('fixed') };
`;

export function writeNodeApp(webapps: string, name: string, source: string, health?: string): void {
  const folder = path.join(webapps, name);
  mkdirSync(folder, { recursive: true });
  const config = ['runtime = "node"', 'entry = "server.mjs"', ...(health ? [`health = "${health}"`] : [])];
  writeFileSync(path.join(folder, 'tessera-app.toml'), `${config.join('\n')}\n`);
  writeFileSync(path.join(folder, 'server.mjs'), source);
}

/** `ledger` in tenant `tenantId` of the home, with its data folder. */
export function writeLedgerApp(home: string, tenantId: number): void {
  const layout = homeLayout(home);
  writeNodeApp(webappsFolder(layout, tenantId), 'ledger', LEDGER, '/healthz');
  const data = appDataFolder(layout, tenantId, 'ledger');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(data, 'carried.txt'), LEDGER_DATA);
}

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HomeLayout, homeLayout, userstoresFolder } from '../../../src/home/layout.js';
import { LDAP_RETRY_MAX_MS, ldapRetryDelayMs } from '../../../src/userstores/definitions/store-loader.js';
import type { UserStoreManager } from '../../../src/userstores/manager.js';
import { scratchFolder } from '../../helpers/databases.js';
import { type ServerDatabase, serverDatabase, startedManager } from '../helpers.js';
import { GROUPS, ROOT_DN, ROOT_PASSWORD, rootBindRequest, type Slapd, startSlapd } from './slapd.js';

const ACME = 1;

/** The manager's log lines about one store, parsed. */
function linesAbout(lines: string[], store: string): { msg: string; level: number }[] {
  return lines.map((l) => JSON.parse(l)).filter((l) => l.store === store);
}

describe('LDAP stores that fail to load are retried only when the directory was unreachable, with backoff', () => {
  let slapd: Slapd;
  let server: ServerDatabase;
  let home: ReturnType<typeof scratchFolder>;
  let layout: HomeLayout;
  let manager: UserStoreManager;
  let lines: string[];
  let goodText: string;

  beforeAll(async () => {
    slapd = await startSlapd();
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
    home = scratchFolder('ldap-retry');
    layout = homeLayout(home.dir);
    // A rescan every 20 ms: without backoff a failing store would be tried dozens of times below.
    ({ manager, lines } = await startedManager(server, layout, [ACME], {
      rescanIntervalMs: 20,
      debounceMs: 10,
    }));
    await manager.createStore(ACME, {
      domain: 'DIRECTORY',
      type: 'ldap',
      url: slapd.url,
      readOnly: true,
      ldap: rootBindRequest({ timeoutMs: 2_000 }),
    });
    goodText = readFileSync(path.join(userstoresFolder(layout, ACME), 'DIRECTORY.toml'), 'utf8');
  });
  afterAll(async () => {
    await manager?.close();
    await server?.dispose();
    home?.remove();
    await slapd?.dispose();
  });

  it('the backoff starts at 5 s and doubles up to 5 min', () => {
    expect([1, 2, 3, 4].map(ldapRetryDelayMs)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(ldapRetryDelayMs(7)).toBe(LDAP_RETRY_MAX_MS);
    expect(ldapRetryDelayMs(50)).toBe(LDAP_RETRY_MAX_MS);
  });

  it('a refused bind is tried once, not at every rescan, and again when the file changes', async () => {
    expect(goodText).toContain(ROOT_PASSWORD);
    const file = path.join(userstoresFolder(layout, ACME), 'BADBIND.toml');
    writeFileSync(
      file,
      goodText.replace('"DIRECTORY"', '"BADBIND"').replace(ROOT_PASSWORD, 'wrong-password'),
    );
    await manager.rescan(ACME);
    await manager.rescan(ACME);
    await new Promise((r) => setTimeout(r, 400));
    const described = manager.describe(ACME).find((d) => d.domain === 'BADBIND');
    expect(described?.status).toBe('error');
    expect(described?.error).toContain(`refused the bind DN ${ROOT_DN}`);
    const tries = linesAbout(lines, 'BADBIND').filter((l) => l.msg.includes('refused the definition'));
    expect(tries).toHaveLength(1);

    writeFileSync(file, goodText.replace('"DIRECTORY"', '"BADBIND"'));
    await manager.rescan(ACME);
    expect(manager.describe(ACME).find((d) => d.domain === 'BADBIND')?.status).toBe('up');
  });

  it('a missing search base is not retried either', async () => {
    const file = path.join(userstoresFolder(layout, ACME), 'NOBASE.toml');
    writeFileSync(
      file,
      goodText
        .replace('"DIRECTORY"', '"NOBASE"')
        .replace(`"${GROUPS}"`, `"ou=nobody,${GROUPS.split(',').slice(1).join(',')}"`),
    );
    await manager.rescan(ACME);
    await manager.rescan(ACME);
    await new Promise((r) => setTimeout(r, 200));
    expect(manager.describe(ACME).find((d) => d.domain === 'NOBASE')?.error).toContain('does not exist');
    expect(linesAbout(lines, 'NOBASE').filter((l) => l.msg.includes('refused the definition'))).toHaveLength(
      1,
    );
  });

  it('an unreachable directory is retried by the periodic rescan only after its backoff; an explicit rescan tries at once', async () => {
    const file = path.join(userstoresFolder(layout, ACME), 'DOWN.toml');
    writeFileSync(file, goodText.replace('"DIRECTORY"', '"DOWN"').replace(slapd.url, 'ldap://127.0.0.1:1'));
    await manager.rescan(ACME);
    const unavailable = () => linesAbout(lines, 'DOWN').filter((l) => l.msg.includes('is not available'));
    // The new file is loaded by this rescan and, on a busy machine, perhaps also by the folder watcher's.
    await new Promise((r) => setTimeout(r, 300));
    const loads = unavailable().length;
    expect(loads).toBeGreaterThanOrEqual(1);
    // Many periodic rescans later, still within the first 5 s of backoff: not tried again.
    await new Promise((r) => setTimeout(r, 400));
    expect(unavailable()).toHaveLength(loads);
    expect(manager.describe(ACME).find((d) => d.domain === 'DOWN')?.error).toContain('is not available');
    await manager.rescan(ACME);
    expect(unavailable()).toHaveLength(loads + 1);
  });
});

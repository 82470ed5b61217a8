import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.js';
import { renderReport } from '../../../src/upgrade/report.js';
import { configureStep } from '../../../src/upgrade/steps/configure/configure.js';
import { readTree, treeDigest } from '../../../src/upgrade/steps/configure/tree.js';
import { type StepScenario, stepScenario } from './scenario.js';

/** Every path, size and sha256 under a folder: equal digests, byte-identical trees. */
async function digestOf(folder: string): Promise<string> {
  return treeDigest(await readTree(folder, { hash: true }));
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface Copy {
  folder: string;
  without?: string[];
  files: number;
  copied: number;
  unchanged: number;
  removed: number;
}

describe('configure step', () => {
  let scenario: StepScenario | undefined;
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  it('writes the 2.1 config and copies the home in order, verified, leaving the old home byte-identical', async () => {
    scenario = await stepScenario('sqlite', { release: '1.0.0' });
    const { context, oldHome, newHome } = scenario;
    // Node apps' data folders (README, Applications) live in the tenant folders and travel with them.
    const appData = ['repository/deployment/server/appdata/hello', 'repository/tenants/1/appdata/shop'];
    for (const folder of appData) {
      mkdirSync(path.join(oldHome, folder), { recursive: true });
      writeFileSync(path.join(oldHome, folder, 'orders.json'), folder);
    }
    const oldDigest = await digestOf(oldHome);

    const lines = await configureStep.describe(context);
    expect(existsSync(newHome)).toBe(false);
    expect(lines[0]).toMatch(
      /from the 1\.0 config: 3 renamed, 3 changed, 6 defaulted, 0 dropped, 12 carried, 1 kept$/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^copy store database repository\/database\/userstores\.db: \d+ bytes/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^copy repository\/tenants\/2 \(without userstores\/\): 0 files, 1 folders/),
    );

    const details = await configureStep.run(context, undefined);

    const config = loadConfigFile(path.join(newHome, 'conf', 'tessera.toml'));
    expect(config.database.url).toBe(context.plan.stagingUrl);
    expect(config.security.passwordHash).toBe('argon2id');
    expect(details.report).toContainEqual(
      expect.objectContaining({ kind: 'renamed', from: 'database.dsn', to: 'database.url' }),
    );
    expect(scenario.output.join('\n')).toContain('renamed   http.port -> server.port = 9763');
    // The default SQLite URL reads the same in both homes: kept (the new home resolves it to staging), and
    // nothing is listed as changed with the same value on both sides.
    const report = details.report as { kind: string; before?: string; value: string }[];
    expect(report.filter((entry) => entry.kind === 'changed' && entry.before === entry.value)).toEqual([]);
    expect(report.at(-1)).toEqual({
      kind: 'kept',
      hop: 'staging',
      key: 'database.url',
      value: '"sqlite:repository/database/tessera.db"',
      note: "the same text, read from the new home: the upgraded (staging) database; the old home's is retired at promote",
    });
    expect(scenario.output.join('\n')).toContain(
      'staging    kept      database.url = "sqlite:repository/database/tessera.db" (the same text, read from the new home',
    );
    context.journal.finishStep(configureStep, details);
    expect(renderReport({ ...context.journal.data, outage: undefined })).toContain(
      '    kept      hop=staging  key=database.url  value="sqlite:repository/database/tessera.db"  note=the same text',
    );

    // Deployment folder first, tenant folders without their stores next, the tenants' store files last.
    const copies = details.copies as Copy[];
    expect(copies.map((c) => [c.folder, c.without ?? []])).toEqual([
      ['repository/deployment/server', []],
      ['repository/tenants/1', ['userstores']],
      ['repository/tenants/2', ['userstores']],
      ['repository/tenants/1/userstores', []],
      ['repository/tenants/2/userstores', []],
    ]);
    for (const folder of ['repository/deployment/server', 'repository/tenants']) {
      expect(await digestOf(path.join(newHome, folder)), folder).toBe(
        await digestOf(path.join(oldHome, folder)),
      );
    }
    expect(
      readFileSync(path.join(newHome, 'repository/tenants/1/userstores/PARTNERS.toml'), 'utf8'),
    ).toContain('url = "sqlite:repository/database/userstores.db"');
    const store = 'repository/database/userstores.db';
    expect(sha256(path.join(newHome, store))).toBe(sha256(path.join(oldHome, store)));
    expect(details.storeDatabases).toEqual([
      expect.objectContaining({
        relative: store,
        copied: true,
        usedBy: ['PARTNERS (repository/deployment/server)', 'PARTNERS (repository/tenants/1)'],
      }),
    ]);
    for (const folder of appData)
      expect(readFileSync(path.join(newHome, folder, 'orders.json'), 'utf8')).toBe(folder);
    // Production's own database is the stage step's business, not a file to copy. Configure opens staging
    // to record the home's apps (here, without the stage step before it, an empty file with no tables).
    const stagingFile = path.join(newHome, 'repository/database/tessera.db');
    if (existsSync(stagingFile)) {
      const staging = new Sqlite(stagingFile, { readonly: true });
      expect(staging.prepare("select count(*) as n from sqlite_master where type = 'table'").get()).toEqual({
        n: 0,
      });
      staging.close();
    }
    for (const folder of ['logs', 'backups']) expect(existsSync(path.join(newHome, folder))).toBe(true);
    expect(existsSync(path.join(newHome, 'logs', 'tessera.log'))).toBe(false);

    expect(await digestOf(oldHome)).toBe(oldDigest);
  });

  it('completes a partial copy when run again: overwrites what differs, removes strays, keeps the rest', async () => {
    scenario = await stepScenario('sqlite', { release: '1.1.0' });
    const { context, oldHome, newHome } = scenario;
    await configureStep.run(context, undefined);
    const hello = path.join(newHome, 'repository/deployment/server/webapps/hello/index.html');
    writeFileSync(hello, 'half written');
    rmSync(path.join(newHome, 'repository/tenants/1/webapps/docs.zip'));
    rmSync(path.join(newHome, 'repository/tenants/2'), { recursive: true });
    writeFileSync(
      path.join(newHome, 'repository/tenants/1/webapps/.docs.zip.tessera-0000.tmp'),
      'left by a kill',
    );
    mkdirSync(path.join(newHome, 'repository/tenants/1/userstores/stray'));
    writeFileSync(
      path.join(newHome, 'conf', 'tessera.toml'),
      'format = "2.0"\n[database]\nurl = "sqlite:elsewhere.db"\n',
    );

    const details = await configureStep.run(context, { copies: [] });
    const copies = details.copies as Copy[];
    const byFolder = Object.fromEntries(copies.map((c) => [c.folder, c]));
    expect(byFolder['repository/deployment/server']).toMatchObject({ copied: 1, removed: 0 });
    expect(byFolder['repository/tenants/1']).toMatchObject({ copied: 1, removed: 1 });
    expect(byFolder['repository/tenants/1/userstores']).toMatchObject({ copied: 0, removed: 1 });
    expect(byFolder['repository/tenants/2']?.removed).toBe(0);
    for (const folder of ['repository/deployment/server', 'repository/tenants']) {
      expect(await digestOf(path.join(newHome, folder)), folder).toBe(
        await digestOf(path.join(oldHome, folder)),
      );
    }
    expect(loadConfigFile(path.join(newHome, 'conf', 'tessera.toml')).database.url).toBe(
      context.plan.stagingUrl,
    );
  });

  it('refuses, before writing anything, a store whose relative sqlite: path leaves the old home', async () => {
    scenario = await stepScenario('sqlite', { release: '1.1.0' });
    const { context, oldHome, newHome } = scenario;
    writeFileSync(
      path.join(oldHome, 'repository/tenants/2/userstores/OUTSIDE.toml'),
      'domain = "OUTSIDE"\ntype = "jdbc"\nurl = "sqlite:../outside.db"\n',
    );
    const lines = await configureStep.describe(context);
    expect(lines).toContain(
      'cannot carry store OUTSIDE (repository/tenants/2): sqlite:../outside.db is a relative path outside the old home; give it an absolute sqlite: path first',
    );
    await expect(configureStep.run(context, undefined)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(existsSync(newHome)).toBe(false);
  });

  it('leaves server-engine store databases where they are, on postgres', async () => {
    scenario = await stepScenario('postgres', { release: '1.1.0' });
    const { context, newHome } = scenario;
    const details = await configureStep.run(context, undefined);
    expect(details.storeDatabases).toEqual([]);
    expect(details.storesLeftInPlace).toEqual([
      expect.objectContaining({
        store: 'PARTNERS (repository/deployment/server)',
        reason: 'a database server both homes reach',
      }),
      expect.objectContaining({ store: 'PARTNERS (repository/tenants/1)' }),
    ]);
    const partners = await readFile(
      path.join(newHome, 'repository/tenants/1/userstores/PARTNERS.toml'),
      'utf8',
    );
    expect(partners).toMatch(/url = "postgres:\/\/.*_stores"/);
    const config = loadConfigFile(path.join(newHome, 'conf', 'tessera.toml'));
    expect(config.database.url).toBe(context.plan.stagingUrl);
    expect(config.server.host).toBe('localhost');
  });

  it("carries the old home's conf/secrets.key, which sealed the database's TOTP secrets, owner-only", async () => {
    scenario = await stepScenario('sqlite', { release: '1.0.0' });
    const { context, oldHome, newHome } = scenario;
    const key = `${Buffer.alloc(32, 7).toString('base64')}\n`;
    writeFileSync(path.join(oldHome, 'conf', 'secrets.key'), key, { mode: 0o600 });
    await configureStep.run(context, undefined);
    const carried = path.join(newHome, 'conf', 'secrets.key');
    expect(readFileSync(carried, 'utf8')).toBe(key);
    expect(statSync(carried).mode & 0o777).toBe(0o600);
  });
});

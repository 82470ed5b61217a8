import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneAppBackups } from '../../src/webapps/backup-retention.js';
import { scratchFolder } from '../helpers/databases.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 5, 1);

describe('pruneAppBackups', () => {
  let scratch: { dir: string; remove: () => void };
  let backups: string;
  beforeEach(() => {
    scratch = scratchFolder('backups');
    backups = path.join(scratch.dir, 'backups');
    mkdirSync(backups);
  });
  afterEach(() => scratch.remove());

  const file = (name: string) => writeFileSync(path.join(backups, name), name);
  const folder = (name: string) => {
    mkdirSync(path.join(backups, name));
    writeFileSync(path.join(backups, name, 'index.html'), name);
  };

  it('keeps the newest archives of each app, replaced and undeployed counted together', async () => {
    for (let i = 1; i <= 4; i++) file(`replaced-7-${NOW - i * 1000}-shop.zip`);
    file(`undeployed-7-${NOW - 500}-shop.zip`);
    folder(`undeployed-7-${NOW - 5000}-shop`); // the folder app of the same name: the same app
    file(`replaced-8-${NOW - 9000}-shop.zip`); // another tenant's shop
    file(`replaced--1234-${NOW - 9000}-shop.zip`); // the super tenant's
    file(`replaced-7-${NOW - 9000}-docs.zip`);
    folder('deleted-tenant-9-1700000000000'); // not an app archive: never touched
    file('tessera-1.1.0-home.tar.gz');

    const removed = await pruneAppBackups(backups, { count: 2, days: 0 }, NOW);
    expect(removed).toEqual(
      [
        `replaced-7-${NOW - 2000}-shop.zip`,
        `replaced-7-${NOW - 3000}-shop.zip`,
        `replaced-7-${NOW - 4000}-shop.zip`,
        `undeployed-7-${NOW - 5000}-shop`,
      ].sort(),
    );
    expect(readdirSync(backups).sort()).toEqual(
      [
        `replaced-7-${NOW - 1000}-shop.zip`,
        `undeployed-7-${NOW - 500}-shop.zip`,
        `replaced-8-${NOW - 9000}-shop.zip`,
        `replaced--1234-${NOW - 9000}-shop.zip`,
        `replaced-7-${NOW - 9000}-docs.zip`,
        'deleted-tenant-9-1700000000000',
        'tessera-1.1.0-home.tar.gz',
      ].sort(),
    );
  });

  it('removes archives older than the age limit, and keeps any age with 0', async () => {
    file(`replaced-7-${NOW - 31 * DAY}-shop.zip`);
    file(`replaced-7-${NOW - 29 * DAY}-shop.zip`);
    file(`undeployed-7-${NOW - 40 * DAY}-docs.zip`);
    expect(await pruneAppBackups(backups, { count: 10, days: 0 }, NOW)).toEqual([]);
    expect(await pruneAppBackups(backups, { count: 10, days: 30 }, NOW)).toEqual([
      `replaced-7-${NOW - 31 * DAY}-shop.zip`,
      `undeployed-7-${NOW - 40 * DAY}-docs.zip`,
    ]);
    expect(readdirSync(backups)).toEqual([`replaced-7-${NOW - 29 * DAY}-shop.zip`]);
  });
});

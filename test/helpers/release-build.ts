import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** A release's own code, built from its recorded commit, beside the current code. */
export interface BuiltRelease {
  version: string;
  commit: string;
  /** Its package root: `bin/tessera.js` and `dist/` of that commit. */
  dir: string;
  /** Its CLI, to spawn with the current Node. */
  cli: string;
  /** How long this call took: the build when it ran, the cache lookup otherwise. */
  ms: number;
  fromCache: boolean;
}

/**
 * Where built releases are kept between test files and runs: under node_modules/.cache so that a clean clone
 * (as CI has) starts without them and `npm ci` clears them. `TESSERA_RELEASE_CACHE` moves it.
 */
export function releaseCacheFolder(): string {
  return (
    process.env.TESSERA_RELEASE_CACHE ?? path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'tessera-releases')
  );
}

const BUILT_MARK = '.tessera-built';

/**
 * Builds `commit` of this repository into the cache once, and returns it. The source comes from git (a clone
 * with history: a shallow clone lacks the commit and is refused with that said). Its dependencies are this
 * checkout's when every package its lockfile pins is pinned here too, at the same place and version (this
 * checkout may have more: the release's code imports only its own), else its own `npm ci`. Only
 * the server is compiled (tsc), not the console. Built in a folder of its own and renamed into place, so
 * test files building it at the same time each get a whole build and none sees a half-built one.
 */
export function buildRelease(version: string, commit: string): BuiltRelease {
  const started = Date.now();
  const dir = path.join(releaseCacheFolder(), `${version}-${commit.slice(0, 12)}`);
  const done = (fromCache: boolean): BuiltRelease => ({
    version,
    commit,
    dir,
    cli: path.join(dir, 'bin', 'tessera.js'),
    ms: Date.now() - started,
    fromCache,
  });
  if (existsSync(path.join(dir, BUILT_MARK))) return done(true);

  const known = spawnSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: PACKAGE_ROOT });
  if (known.status !== 0) {
    throw new Error(
      `release ${version}'s commit ${commit} is not in this clone (${PACKAGE_ROOT}); a shallow clone lacks it: clone with history`,
    );
  }
  const building = `${dir}.building-${process.pid}-${Date.now()}`;
  mkdirSync(building, { recursive: true });
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', commit], {
      cwd: PACKAGE_ROOT,
      maxBuffer: 512 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', building], { input: archive });
    installDependencies(building);
    execFileSync(
      process.execPath,
      [path.join(building, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: building,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    writeFileSync(path.join(building, BUILT_MARK), `${version} ${commit}\n`);
    try {
      renameSync(building, dir);
    } catch (error) {
      // Another test file built it meanwhile: keep theirs.
      if (!existsSync(path.join(dir, BUILT_MARK))) throw error;
      rmSync(building, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  return done(false);
}

function installDependencies(folder: string): void {
  if (
    dependenciesCovered(path.join(folder, 'package-lock.json'), path.join(PACKAGE_ROOT, 'package-lock.json'))
  ) {
    symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(folder, 'node_modules'), 'dir');
    return;
  }
  // `--ignore-scripts` would skip better-sqlite3's native build, which the server needs.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: folder,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10 * 60_000,
  });
}

interface LockFile {
  packages?: Record<string, { version?: string; integrity?: string }>;
}

/**
 * Whether every package `releaseLock` pins (at its place under node_modules/) is pinned by `checkoutLock` at
 * the same place, version and integrity: then the checkout's node_modules serve the release as its own
 * `npm ci` would, without a second install and native build (a minute here). Packages the checkout added
 * since are never imported by the release's code.
 */
export function dependenciesCovered(releaseLock: string, checkoutLock: string): boolean {
  const read = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as LockFile).packages ?? {};
  const release = read(releaseLock);
  const checkout = read(checkoutLock);
  return Object.entries(release).every(([place, pinned]) => {
    if (place === '') return true; // the package itself
    const here = checkout[place];
    return here?.version === pinned.version && here?.integrity === pinned.integrity;
  });
}

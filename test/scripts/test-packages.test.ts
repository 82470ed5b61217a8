import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';

const SCRIPT = path.resolve('scripts/test-packages.sh');
const ABSENT = 'tessera-no-such-package';
const isRoot = process.getuid?.() === 0;

/** Runs the script, as `nobody` when asked (through setpriv, so the test needs root for that case). */
function run(options: { packages?: string; asNobody?: boolean; path?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: options.path ?? process.env.PATH };
  if (options.packages !== undefined) env.TESSERA_TEST_PACKAGES = options.packages;
  const command = options.asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', SCRIPT]
    : ['bash', SCRIPT];
  const started = performance.now();
  const result = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', env });
  return { ...result, ms: performance.now() - started };
}

describe('scripts/test-packages.sh: the packages npm test needs beside the database servers', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('with every package installed it does nothing, quickly and silently', () => {
    // Where the tests run, the pretest has installed them (or refused, and the tests never started).
    const result = run();
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    expect(result.ms).toBeLessThan(2_000);
  });

  it.runIf(isRoot)(
    'not root and a package missing: exit 2 and the exact command, naming only the missing',
    () => {
      const result = run({ packages: `slapd ${ABSENT}`, asNobody: true });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        `sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${ABSENT}'`,
      );
      expect(result.stderr).not.toMatch(/install -y .*slapd/);
    },
  );

  it.runIf(isRoot)('root and a package missing: apt-get installs the missing ones only', () => {
    // A stand-in apt-get that records its arguments, ahead of the real one on PATH.
    const bin = scratchFolder('fake-apt');
    cleanups.push(bin.remove);
    const log = path.join(bin.dir, 'calls');
    writeFileSync(path.join(bin.dir, 'apt-get'), `#!/bin/sh\necho "$*" >> ${log}\n`);
    chmodSync(path.join(bin.dir, 'apt-get'), 0o755);

    const result = run({ packages: `chromium ${ABSENT}`, path: `${bin.dir}:${process.env.PATH}` });

    expect(result.status, result.stderr).toBe(0);
    expect(existsSync(log)).toBe(true);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['update -qq', `install -y -qq ${ABSENT}`]);
  });
});

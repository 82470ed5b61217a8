import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/cluster.js';

const cleanups = cleanupsAfterEach();

beforeAll(() => {
  ensureBuilt();
});

describe('tessera maintenance on a home no node runs on (SQLite)', () => {
  it('switches on and off, shows the state, and refuses bad usage with exit 2', async () => {
    const scratch = await cleanups.scratch('sqlite', 'maintenance-cli');
    const home = path.join(scratch.home, 'home');
    expect(
      runCli(['init', '--home', home], { env: { TESSERA_ADMIN_PASSWORD: 'cli-admin-pw-1' } }).status,
    ).toBe(0);

    const bad = runCli(['maintenance', 'on', '--home', home, '--retry-after', 'soon']);
    expect(bad.status).toBe(2);
    const tooLong = runCli(['maintenance', 'on', '--home', home, '--message', 'x'.repeat(501)]);
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toContain('at most 500 characters');

    const on = runCli(['maintenance', 'on', '--home', home, '--message', 'Copying.', '--retry-after', '30']);
    expect(on.status, on.stderr).toBe(0);
    expect(on.stdout).toContain('maintenance: on (generation 1)');
    expect(on.stdout).toContain('0 live node(s)');
    const status = runCli(['maintenance', 'status', '--home', home, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: { on: true, message: 'Copying.', retryAfterSeconds: 30, generation: 1 },
      nodes: [],
      allAcked: true,
    });
    expect(JSON.parse(status.stdout).state.by).toMatch(/^cli:/);
    const off = runCli(['maintenance', 'off', '--home', home]);
    expect(off.status).toBe(0);
    expect(off.stdout).toContain('maintenance: off (generation 2)');
  });
});

import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/cluster.js';

describe('bad usage exits 2 at every depth of the command line', () => {
  it.each(['status', 'cluster status', 'maintenance status', 'upgrade report'])(
    'tessera %s --no-such-option',
    (command) => {
      ensureBuilt();
      const run = runCli([...command.split(' '), '--no-such-option']);
      expect(run.stderr).toContain("unknown option '--no-such-option'");
      expect(run.status).toBe(2);
    },
  );
});

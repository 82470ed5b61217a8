import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/longest-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Each worker keeps the modules it loaded from one test file to the next instead of loading them again
    // for every file: collecting took 107-153 s of a full run's worker time, about a sixth of it. Tests keep
    // no state in modules they share (every server, database and registry is made per test).
    isolate: false,
    // Three workers on two cores: most of a test's time is spent waiting on a database, a server process or
    // a browser, not computing (1720 s of worker time in a run of 873 s with two).
    maxWorkers: 3,
    minWorkers: 1,
    reporters: ['default', './test/summary-reporter.ts'],
    sequence: { sequencer: LongestFirstSequencer },
  },
});

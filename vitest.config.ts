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
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', './test/summary-reporter.ts'],
    sequence: { sequencer: LongestFirstSequencer },
  },
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Runs the longest test files first, so that the two workers finish together instead of one of them
 * starting a two-minute file when the other has nothing left. Vitest orders by the durations it cached
 * in `node_modules/.vite`, but a clean clone (CI) has none and falls back to file size, which says little
 * here: a 70-line file can start three servers. So the durations of a full run are kept in
 * `test/durations.json` (`node scripts/test-durations.mjs` writes it from vitest's cache after a run);
 * the machine's own cache wins where it has a file, and a file known to neither runs first, as vitest does.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const recorded = readRecordedDurations(root);
    const durationOf = (file: TestSpecification): number | undefined => {
      const relative = path.relative(root, file.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${file.project.name}:${relative}`);
      return cached?.duration ?? recorded.get(relative);
    };
    return [...files]
      .map((file) => ({ file, duration: durationOf(file) ?? Number.POSITIVE_INFINITY }))
      .sort((a, b) => b.duration - a.duration)
      .map(({ file }) => file);
  }
}

function readRecordedDurations(root: string): Map<string, number> {
  try {
    const table = JSON.parse(readFileSync(path.join(root, 'test/durations.json'), 'utf8')) as Record<
      string,
      number
    >;
    return new Map(Object.entries(table).map(([file, seconds]) => [file, seconds * 1000]));
  } catch {
    // No table (or an unreadable one): every file is unknown, and runs in vitest's order of discovery.
    return new Map();
  }
}

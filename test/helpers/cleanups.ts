import { afterEach } from 'vitest';
import type { DatabaseKind } from '../../src/db/url.js';
import { type ScratchDatabase, scratchDatabase } from './databases.js';

type Cleanup = () => Promise<unknown> | unknown;

/** What a test made, undone after it. */
export interface Cleanups {
  /** Undoes `cleanup` after the test, before anything added earlier (a node stops before its database goes). */
  add(cleanup: Cleanup): void;
  /** Undoes `cleanup` after the test, after everything else. */
  addLast(cleanup: Cleanup): void;
  /** A scratch database of `kind`, dropped after the test. */
  scratch(kind: DatabaseKind, label: string): Promise<ScratchDatabase>;
}

/**
 * Registers an afterEach that runs the cleanups added during each test, newest first; one that fails
 * does not keep the others from running (a test that failed half-way leaves half-made things).
 */
export function cleanupsAfterEach(): Cleanups {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  });
  return {
    add(cleanup) {
      cleanups.push(cleanup);
    },
    addLast(cleanup) {
      cleanups.unshift(cleanup);
    },
    async scratch(kind, label) {
      const database = await scratchDatabase(kind, label);
      cleanups.push(() => database.drop());
      return database;
    },
  };
}

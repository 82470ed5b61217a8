import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/telemetry/logger.js';
import { scratchFolder } from '../helpers/databases.js';
import { modeOf } from '../helpers/modes.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('the server log', () => {
  it('is 0600 and masks database passwords in messages and errors', async () => {
    const folder = scratchFolder('logger');
    cleanups.push(folder.remove);
    const { logger, close } = createLogger({ level: 'info', logsFolder: folder.dir, stdout: false });
    logger.warn('store mysql://u:hunter2@db/stores is not available');
    logger.error(
      { err: new Error('cannot open postgres://u:hunter2@db/prod?password=hunter2') },
      'readiness check failed',
    );
    await close();
    const file = path.join(folder.dir, 'tessera.log');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('mysql://u:***@db/stores');
    expect(text).toContain('postgres://u:***@db/prod?password=***');
    expect(text).not.toContain('hunter2');
    expect(modeOf(file)).toBe(0o600);
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesJedec } from '../../src/progress/bytes.js';
import { createProgress } from '../../src/progress/progress.js';

/** A stream that keeps what is written, as a terminal or a log file would receive it. */
function capture(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns: 160 });
  return { stream, text: () => chunks.join('') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('progress off a terminal (CI, logs)', () => {
  it('prints a plain line per task every interval, with rows, bytes, rate and ETA, and one when it ends', async () => {
    const out = capture(false);
    const progress = createProgress({ stream: out.stream, intervalMs: 20 });
    const task = progress.task('stage users', 1_000);
    task.advance(100, 2_048);
    await sleep(30);
    task.advance(150, 4_096);
    task.done('1,000 rows in 0.10 s');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^stage users: 250\/1,000 rows 25\.0% · 6\.0 KB · [\d,]+ rows\/s · eta \d+s$/);
    expect(lines[1]).toBe('stage users: 1,000 rows in 0.10 s');
    expect(out.text()).not.toContain('\x1b[');
  });

  it('writes nothing when quiet', () => {
    const out = capture(false);
    const progress = createProgress({ stream: out.stream, quiet: true });
    progress.task('x', 10).advance(10);
    progress.line('hello');
    expect(out.text()).toBe('');
  });
});

describe('progress on a terminal', () => {
  it('draws a bar for each running task and leaves a line for each finished one', async () => {
    const out = capture(true);
    const progress = createProgress({ stream: out.stream });
    const users = progress.task('stage users', 1_000);
    const roles = progress.task('stage roles', 400);
    users.advance(500, 10 * 1024 * 1024);
    roles.advance(100);
    await sleep(250);
    const drawn = out.text();
    expect(drawn).toMatch(
      /\[#{12}-{12}\] stage users: 500\/1,000 rows 50\.0% · 10\.0 MB · [\d,]+ rows\/s · eta \d+s/,
    );
    expect(drawn).toMatch(/\[#{6}-{18}\] stage roles: 100\/400 rows 25\.0%/);
    users.done('1,000 rows');
    roles.done('400 rows');
    progress.line('Staging verified.');
    const all = out.text();
    expect(all).toContain('stage users: 1,000 rows\n');
    expect(all).toContain('stage roles: 400 rows\n');
    expect(all.endsWith('Staging verified.\n')).toBe(true);
  });
});

describe('formatBytesJedec', () => {
  it('picks the unit that keeps the number short', () => {
    expect([
      formatBytesJedec(512),
      formatBytesJedec(1536),
      formatBytesJedec(5 * 1024 ** 2),
      formatBytesJedec(3 * 1024 ** 3),
    ]).toEqual(['512 B', '1.5 KB', '5.0 MB', '3.00 GB']);
  });
});

describe('formatBytes', () => {
  it('spells the same steps in binary units, up to TiB', () => {
    expect([
      formatBytes(512),
      formatBytes(1536),
      formatBytes(5 * 1024 ** 2),
      formatBytes(3 * 1024 ** 3),
      formatBytes(2 * 1024 ** 4),
    ]).toEqual(['512 B', '1.5 KiB', '5.0 MiB', '3.0 GiB', '2.0 TiB']);
  });
});

/** Progress of long work: a redrawn line on a terminal, periodic plain lines otherwise (CI, logs). */
export interface Progress {
  /** Starts a task of `total` units (rows, bytes, statements); undefined when unknown. */
  task(label: string, total?: number, unit?: string): ProgressTask;
  /** A one-off line. */
  line(message: string): void;
}

export interface ProgressTask {
  advance(units: number): void;
  done(summary?: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Milliseconds between plain lines when not on a terminal. */
  intervalMs?: number;
  quiet?: boolean;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 100 : 5_000);
  const write = (text: string) => {
    if (!options.quiet) stream.write(text);
  };
  return {
    line(message) {
      write(`${message}\n`);
    },
    task(label, total, unit = 'rows') {
      const started = Date.now();
      let count = 0;
      let lastDraw = started;
      const render = () => {
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        const rate = count / seconds;
        const share = total ? ` ${((100 * count) / Math.max(1, total)).toFixed(1)}%` : '';
        const eta = total && rate > 0 ? ` eta ${Math.max(0, (total - count) / rate).toFixed(0)}s` : '';
        return `${label}: ${count.toLocaleString('en')}${total ? `/${total.toLocaleString('en')}` : ''} ${unit}${share} ${rate.toFixed(0)} ${unit}/s${eta}`;
      };
      return {
        advance(units) {
          count += units;
          const now = Date.now();
          if (now - lastDraw < interval) return;
          lastDraw = now;
          write(tty ? `\r\x1b[2K${render()}` : `${render()}\n`);
        },
        done(summary) {
          const text = summary ? `${label}: ${summary}` : render();
          write(tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
        },
      };
    },
  };
}

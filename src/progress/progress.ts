import { MultiBar, type Options, type Params } from 'cli-progress';
import { formatBytesJedec } from './bytes.js';

/**
 * Progress of long work: on a terminal a bar per running task (rows, bytes, rate, ETA); elsewhere (CI,
 * logs) a plain line per task every few seconds and one when it ends.
 */
export interface Progress {
  /** Starts a task of `total` units (rows, bytes, statements); undefined when unknown. */
  task(label: string, total?: number, unit?: string): ProgressTask;
  /** A one-off line. */
  line(message: string): void;
}

export interface ProgressTask {
  /** `bytes`: the size of what the units carried, where the caller knows it. */
  advance(units: number, bytes?: number): void;
  done(summary?: string): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Milliseconds between plain lines when not on a terminal. */
  intervalMs?: number;
  quiet?: boolean;
  /** Draw bars even when the stream is not a terminal (for tests of the drawing). */
  forceTty?: boolean;
}

/** What one task has done so far, and how fast. */
class TaskMeter {
  readonly started = Date.now();
  count = 0;
  bytes = 0;

  constructor(
    readonly label: string,
    readonly total: number | undefined,
    readonly unit: string,
  ) {}

  add(units: number, bytes: number | undefined): void {
    this.count += units;
    this.bytes += bytes ?? 0;
  }

  /** `label: 12,000/100,000 rows 12.0% · 3.4 MB · 25,000 rows/s · eta 4s` */
  describe(): string {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = this.count / seconds;
    const { total, unit } = this;
    const parts = [
      `${this.label}: ${this.count.toLocaleString('en')}${total ? `/${total.toLocaleString('en')}` : ''} ${unit}${total ? ` ${((100 * this.count) / Math.max(1, total)).toFixed(1)}%` : ''}`,
    ];
    if (this.bytes > 0) parts.push(formatBytesJedec(this.bytes));
    parts.push(`${Math.round(rate).toLocaleString('en')} ${unit}/s`);
    if (total && rate > 0) parts.push(`eta ${Math.max(0, (total - this.count) / rate).toFixed(0)}s`);
    return parts.join(' · ');
  }
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { line() {}, task: () => ({ advance() {}, done() {} }) };
  return stream.isTTY === true || options.forceTty === true
    ? terminalProgress(stream)
    : plainProgress(stream, options.intervalMs ?? 5_000);
}

function plainProgress(stream: NodeJS.WriteStream, intervalMs: number): Progress {
  return {
    line(message) {
      stream.write(`${message}\n`);
    },
    task(label, total, unit = 'rows') {
      const meter = new TaskMeter(label, total, unit);
      let lastLine = meter.started;
      return {
        advance(units, bytes) {
          meter.add(units, bytes);
          const now = Date.now();
          if (now - lastLine < intervalMs) return;
          lastLine = now;
          stream.write(`${meter.describe()}\n`);
        },
        done(summary) {
          stream.write(`${summary ? `${label}: ${summary}` : meter.describe()}\n`);
        },
      };
    },
  };
}

const BAR_WIDTH = 24;

/** One bar per running task; a finished task leaves a line above the bars. */
function terminalProgress(stream: NodeJS.WriteStream): Progress {
  let bars: MultiBar | undefined;
  let running = 0;
  const format = (_options: Options, params: Params, payload: { meter: TaskMeter }): string => {
    const { meter } = payload;
    if (!meter.total) return `  ${meter.describe()}`;
    const filled = Math.round(Math.min(1, params.progress) * BAR_WIDTH);
    return `  [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${meter.describe()}`;
  };
  const multiBar = (): MultiBar => {
    bars ??= new MultiBar({
      stream,
      format,
      fps: 10,
      hideCursor: true,
      clearOnComplete: true,
      forceRedraw: true,
      noTTYOutput: true,
    });
    return bars;
  };
  return {
    line(message) {
      if (bars) bars.log(`${message}\n`);
      else stream.write(`${message}\n`);
    },
    task(label, total, unit = 'rows') {
      const meter = new TaskMeter(label, total, unit);
      const bar = multiBar().create(total ?? 0, 0, { meter });
      running += 1;
      return {
        advance(units, bytes) {
          meter.add(units, bytes);
          bar.update(meter.count, { meter });
        },
        done(summary) {
          const owner = multiBar();
          const text = `${summary ? `${label}: ${summary}` : meter.describe()}\n`;
          owner.remove(bar);
          running -= 1;
          if (running > 0) {
            owner.log(text);
            return;
          }
          // The last bar gone: the terminal is released first, as a log line queued for a redraw that
          // never comes would be lost.
          owner.stop();
          bars = undefined;
          stream.write(text);
        },
      };
    },
  };
}

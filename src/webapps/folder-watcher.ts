import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from 'pino';

/**
 * Calls `onSettled` once a folder has been quiet for `debounceMs` after a change. fs.watch is a hint,
 * not a guarantee (events coalesce, some filesystems send none, the watch dies with its folder), so the
 * owner also rescans periodically and calls `arm()` then to re-establish a watch that was lost.
 */
export class FolderWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly folder: string,
    private readonly debounceMs: number,
    private readonly onSettled: () => void,
    private readonly logger: Logger,
  ) {}

  /** Starts watching if not watching already; a missing folder is retried at the next `arm()`. */
  arm(): void {
    if (this.closed || this.watcher) return;
    try {
      const watcher = watch(this.folder, { persistent: false }, () => this.trigger(this.debounceMs));
      watcher.on('error', (error) => {
        this.logger.debug(
          { folder: this.folder, err: error },
          'folder watch lost; the periodic rescan re-arms it',
        );
        this.disarm();
      });
      this.watcher = watcher;
    } catch (error) {
      this.logger.debug({ folder: this.folder, err: error }, 'folder cannot be watched yet');
    }
  }

  /** (Re)starts the quiet period: `onSettled` runs `delayMs` after the last call. */
  trigger(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.onSettled();
    }, delayMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.disarm();
  }

  private disarm(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

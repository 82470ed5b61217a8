import { type FSWatcher, watch } from 'node:fs';

export interface FolderWatch {
  close(): void;
}

export interface FolderWatchOptions {
  /** Quiet time after the last event before `onChange` runs: an editor's save is several events. */
  debounceMs: number;
  /** The watch broke (e.g. the folder was removed); it is closed, and the caller decides what next. */
  onError: (error: Error) => void;
}

/**
 * Calls `onChange` once things settle after anything in `folder` changes. Events carry no reliable
 * detail across platforms, so the caller re-reads the folder rather than trusting them.
 */
export function watchFolder(folder: string, onChange: () => void, options: FolderWatchOptions): FolderWatch {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const close = () => {
    clearTimeout(timer);
    watcher?.close();
    watcher = undefined;
  };
  // `persistent: false`: a watch alone must not keep the process alive.
  watcher = watch(folder, { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs);
  });
  watcher.on('error', (error) => {
    close();
    options.onError(error);
  });
  return { close };
}

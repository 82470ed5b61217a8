import { TesseraError } from '../errors.js';

/**
 * Why a `.zip` was refused: an entry that would land outside the app folder or is not a plain file or
 * folder (`unsafe-entry`), a file that is not a readable zip (`malformed`), or one that expands beyond
 * the limits (`too-large`, the zip-bomb guard).
 */
export type ArchiveRefusal = 'unsafe-entry' | 'malformed' | 'too-large';

export class ArchiveRefusedError extends TesseraError {
  readonly refusal: ArchiveRefusal;
  /** The offending entry's name as stored in the zip, when one entry is to blame. */
  readonly entry: string | undefined;
  /**
   * For `too-large` on size: the bytes counted when refused, and whether the zip's directory declared them
   * or they were inflated (the directory understated them), so a quota refusal can say which.
   */
  readonly bytes: number | undefined;
  readonly counted: 'declared' | 'inflated' | undefined;

  constructor(
    refusal: ArchiveRefusal,
    message: string,
    options: { entry?: string; cause?: unknown; bytes?: number; counted?: 'declared' | 'inflated' } = {},
  ) {
    super('UNSAFE_ARCHIVE', message, {
      cause: options.cause,
      hint: 'Fix or rebuild the archive and drop it into webapps/ again; nothing was extracted.',
    });
    this.name = 'ArchiveRefusedError';
    this.refusal = refusal;
    this.entry = options.entry;
    this.bytes = options.bytes;
    this.counted = options.counted;
  }
}

/** A `tessera-app.toml` that cannot be read, parsed or understood; the app is not deployed. */
export class AppConfigError extends TesseraError {
  readonly file: string;

  constructor(file: string, message: string, options: { cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, {
      cause: options.cause,
      hint: `Fix ${file}; the app is deployed as soon as the file is valid.`,
    });
    this.name = 'AppConfigError';
    this.file = file;
  }
}

import { TesseraError } from '../errors.js';

/**
 * Whether a user store may still be used, shared by every kind of store: once closed (its definition
 * changed or was removed, its tenant unloaded) every call is refused, so a caller holding the old object
 * looks the store up again instead of reaching a released connection.
 */
export class StoreLifecycle {
  private closed = false;

  constructor(
    private readonly domain: string,
    private readonly readOnly: boolean,
  ) {}

  /** Throws STORE_UNAVAILABLE once the store is closed. */
  assertOpen(): void {
    if (this.closed) {
      throw new TesseraError('STORE_UNAVAILABLE', `User store ${this.domain} was unloaded.`, {
        hint: 'Look the store up again; its definition may have changed or been removed.',
      });
    }
  }

  /** Throws as {@link assertOpen}, and READ_ONLY_STORE for a read-only store. */
  assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new TesseraError('READ_ONLY_STORE', `User store ${this.domain} is read-only.`);
  }

  /** Marks the store closed and runs `release` the first time only; a second close does nothing. */
  async close(release: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await release();
  }
}

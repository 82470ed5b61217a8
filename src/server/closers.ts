import type { Logger } from 'pino';

/**
 * What a starting server has opened, closed in the reverse order: a failed start closes what it got to, a
 * stop closes everything. A close that fails is logged and the others still run.
 */
export class Closers {
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(private readonly logger: Logger) {}

  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch((error: unknown) => this.logger.error({ err: error }, 'close failed'));
    }
  }
}

import type { Duplex } from 'node:stream';

/**
 * The upgraded connections (WebSocket tunnels) to one run of a version. They are not in its undici pool, so
 * a retiring version asks here whether any is still open: it keeps them until they close on their own or
 * its drain bound passes, then closes them.
 */
export class OpenTunnels {
  readonly #open = new Set<Duplex>();
  #emptied: Array<() => void> = [];

  /** Counts `socket` (the connection to the app's socket) until it closes. */
  add(socket: Duplex): void {
    if (socket.destroyed) return;
    this.#open.add(socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      if (this.#open.size === 0) for (const resolve of this.#emptied.splice(0)) resolve();
    });
  }

  get size(): number {
    return this.#open.size;
  }

  /** Resolves once no tunnel is open (at once when none is). */
  whenEmpty(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptied.push(resolve));
  }

  /** Closes every tunnel: the front sees its upstream close and ends the client's side. */
  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}

// Transport (e): a length-prefixed, multiplexed framing over one Unix socket between Tessera and the app
// process. A frame is [type u8][stream u32][length u32][payload]. Each request is one stream: the parent
// sends the rewritten HTTP/1.1 head (and body bytes) as DATA; the child answers with the raw HTTP/1.1
// response as DATA and END when its response is complete. RESET aborts a stream either way.

export const DATA = 1;
export const END = 2;
export const RESET = 3;
const HEADER = 9;

/** Writes frames, coalescing everything written in one tick into one socket write. */
export class FrameWriter {
  /** @param {import("node:net").Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.corked = false;
  }

  /** @param {number} type @param {number} stream @param {Buffer} [payload] */
  write(type, stream, payload) {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    const head = Buffer.allocUnsafe(HEADER);
    head.writeUInt8(type, 0);
    head.writeUInt32BE(stream, 1);
    head.writeUInt32BE(payload ? payload.length : 0, 5);
    this.socket.write(head);
    if (payload && payload.length > 0) return this.socket.write(payload);
    return true;
  }
}

/**
 * Calls `onFrame(type, stream, payload)` for each complete frame read from `socket`. The reads of a large
 * frame are kept in a list and joined once when it is complete, not at every read.
 */
export function readFrames(socket, onFrame) {
  /** @type {Buffer[]} */
  let parts = [];
  let buffered = 0;
  let needed = HEADER; // bytes needed before the next frame (or its header) can be read
  socket.on('data', (chunk) => {
    parts.push(chunk);
    buffered += chunk.length;
    if (buffered < needed) return;
    let pending = parts.length === 1 ? parts[0] : Buffer.concat(parts, buffered);
    let offset = 0;
    needed = HEADER;
    while (pending.length - offset >= HEADER) {
      const length = pending.readUInt32BE(offset + 5);
      if (pending.length - offset < HEADER + length) {
        needed = HEADER + length;
        break;
      }
      const type = pending.readUInt8(offset);
      const stream = pending.readUInt32BE(offset + 1);
      onFrame(type, stream, pending.subarray(offset + HEADER, offset + HEADER + length));
      offset += HEADER + length;
    }
    pending = pending.subarray(offset);
    parts = pending.length === 0 ? [] : [pending];
    buffered = pending.length;
  });
}

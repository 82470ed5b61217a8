import { Transform, type TransformCallback } from 'node:stream';

/** Signature (11 bytes), flags (4) and header extension length (4). */
const HEADER_BYTES = 19;
const EXTENSION_LENGTH_OFFSET = 15;

type Expecting = 'header' | 'extension' | 'tuple' | 'field length' | 'field data' | 'trailer';

/**
 * Passes a PostgreSQL binary COPY stream through unchanged while counting its tuples, so that a copy from
 * one server to another can report progress in rows. The format: a header (plus an extension of given
 * length), then per tuple a 16-bit field count (-1 ends the data) and per field a 32-bit length (-1 for
 * NULL) followed by that many bytes. Fixed-size parts may be split across chunks; data is only skipped.
 */
export class BinaryCopyRowCounter extends Transform {
  rows = 0;
  private unreported = 0;
  private unreportedBytes = 0;
  private expecting: Expecting = 'header';
  /** Bytes of a fixed-size part split across chunks. */
  private partial: Buffer = Buffer.alloc(0);
  /** Bytes still to skip of an extension or a field's data. */
  private skip = 0;
  private fieldsLeft = 0;

  constructor(
    /** Rows between two reports. */
    private readonly reportEvery: number,
    private readonly onRows: (rows: number, bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.unreportedBytes += chunk.length;
      this.scan(chunk);
      callback(null, chunk);
    } catch (error) {
      callback(error as Error);
    }
  }

  /** Reports the last rows before the stream ends, that is before the receiving COPY can commit. */
  override _flush(callback: TransformCallback): void {
    try {
      this.report();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private scan(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.expecting === 'trailer') return;
      if (this.expecting === 'extension' || this.expecting === 'field data') {
        const skipped = Math.min(this.skip, chunk.length - offset);
        offset += skipped;
        this.skip -= skipped;
        if (this.skip === 0) this.skipped();
        continue;
      }
      const size = this.expecting === 'header' ? HEADER_BYTES : this.expecting === 'tuple' ? 2 : 4;
      if (this.partial.length === 0 && chunk.length - offset >= size) {
        this.parse(chunk, offset);
        offset += size;
        continue;
      }
      const taken = Math.min(size - this.partial.length, chunk.length - offset);
      this.partial = Buffer.concat([this.partial, chunk.subarray(offset, offset + taken)]);
      offset += taken;
      if (this.partial.length === size) {
        const whole = this.partial;
        this.partial = Buffer.alloc(0);
        this.parse(whole, 0);
      }
    }
  }

  /** Reads the fixed-size part at `offset` that the parser is expecting. */
  private parse(buffer: Buffer, offset: number): void {
    switch (this.expecting) {
      case 'header': {
        this.skip = buffer.readInt32BE(offset + EXTENSION_LENGTH_OFFSET);
        this.expecting = this.skip > 0 ? 'extension' : 'tuple';
        return;
      }
      case 'tuple': {
        const fields = buffer.readInt16BE(offset);
        if (fields === -1) {
          this.expecting = 'trailer';
        } else if (fields === 0) {
          this.rowDone();
        } else {
          this.fieldsLeft = fields;
          this.expecting = 'field length';
        }
        return;
      }
      case 'field length': {
        const length = buffer.readInt32BE(offset);
        if (length > 0) {
          this.skip = length;
          this.expecting = 'field data';
        } else {
          this.fieldDone();
        }
        return;
      }
      default:
        throw new Error(`binary COPY parser cannot parse while expecting ${this.expecting}`);
    }
  }

  private skipped(): void {
    if (this.expecting === 'extension') this.expecting = 'tuple';
    else this.fieldDone();
  }

  private fieldDone(): void {
    this.fieldsLeft -= 1;
    if (this.fieldsLeft === 0) this.rowDone();
    else this.expecting = 'field length';
  }

  private rowDone(): void {
    this.rows += 1;
    this.unreported += 1;
    this.expecting = 'tuple';
    if (this.unreported >= this.reportEvery) this.report();
  }

  private report(): void {
    if (this.unreported === 0) return;
    const rows = this.unreported;
    const bytes = this.unreportedBytes;
    this.unreported = 0;
    this.unreportedBytes = 0;
    this.onRows(rows, bytes);
  }
}

// Protobuf wire format primitives: a bounds-checked reader over a Buffer, and a growable writer.

export type ProtobufErrorReason = 'Malformed' | 'UnknownKind' | 'Unsupported';

/** A protobuf body that cannot be decoded: malformed bytes, a kind we have no schema for, or an unsupported envelope. */
export class ProtobufError extends Error {
  constructor(message: string, readonly reason: ProtobufErrorReason = 'Malformed') {
    super(message);
    this.name = 'ProtobufError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

export class Reader {
  /** High 32 bits of the last varint read. */
  hi = 0;

  constructor(readonly buf: Buffer, public pos: number, public limit: number) {}

  /** Reads a varint: returns its low 32 bits (unsigned) and leaves the high 32 bits in `hi`. */
  varint(): number {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    let lo = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= limit) throw this.truncated();
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    if (pos >= limit) throw this.truncated();
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (pos >= limit) throw this.truncated();
        b = buf[pos++];
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        if (shift === 31) throw new ProtobufError(`malformed protobuf: varint longer than 10 bytes at offset ${pos}`);
      }
    }
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** A varint that must fit in 32 bits unsigned (tags, lengths). */
  uint32(): number {
    const v = this.varint();
    if (this.hi !== 0) throw new ProtobufError(`malformed protobuf: value too large at offset ${this.pos}`);
    return v;
  }

  int32(): number {
    return this.varint() | 0;
  }

  /** int64 as a JS number (exact up to 2^53, like JSON.parse). */
  int64(): number {
    const lo = this.varint();
    return (this.hi | 0) * TWO_32 + lo;
  }

  bool(): boolean {
    return (this.varint() | this.hi) !== 0;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes (pos is at their start). */
  lengthEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.limit) throw this.truncated();
    return end;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new ProtobufError(`malformed protobuf: unsupported wire type ${wireType} at offset ${this.pos}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.limit) throw this.truncated();
    this.pos += n;
  }

  truncated(): ProtobufError {
    return new ProtobufError(`malformed protobuf: unexpected end of data at offset ${this.pos}`);
  }
}

/** Appends protobuf wire data to a growable buffer. Nested messages are written with `fork()`/`join()`. */
export class Writer {
  private buf = Buffer.allocUnsafe(256);
  pos = 0;
  private forks: number[] = [];

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative integer up to 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Signed integer as a 64-bit two's complement varint (int32 and int64 fields alike). */
  svarint(v: number): void {
    if (v >= 0) return this.uvarint(v);
    let u = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  tag(field: number, wireType: number): void {
    this.uvarint(field * 8 + wireType);
  }

  bytes(data: Uint8Array): void {
    this.uvarint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  string(s: string): void {
    const len = Buffer.byteLength(s);
    this.uvarint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Starts a length-delimited message; its length prefix is inserted by the matching join(). */
  fork(): void {
    this.forks.push(this.pos);
  }

  join(): void {
    const start = this.forks.pop()!;
    const len = this.pos - start;
    let prefix = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) prefix++;
    this.ensure(prefix);
    this.buf.copy(this.buf, start + prefix, start, this.pos);
    let v = len;
    let p = start;
    while (v >= 0x80) {
      this.buf[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[p] = v;
    this.pos += prefix;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

// SPDY/3.1 framing: the frames a client of a Kubernetes streaming server (moby/spdystream
// behind the kubelet or the container runtime) writes, and an incremental reader for what it
// sends back.
//   control frame: 1 | version(15) | type(16) | flags(8) | length(24) | payload
//   data frame:    0 | stream id(31)           | flags(8) | length(24) | payload
// Header blocks are a zlib stream, one per direction and connection, primed with the SPDY
// dictionary. Ours is written as stored (uncompressed) deflate blocks each followed by the
// empty block of a sync flush, a valid zlib stream needing no compressor state; the peer's blocks are never inflated because nothing here reads
// the headers of SYN_REPLY or HEADERS frames (a Kubernetes server sends empty ones).
import { adler32, SPDY3_DICTIONARY } from './dictionary.js';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;

/** RST_STREAM status codes. */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

/** The largest DATA payload written (the format allows 2^24-1; smaller frames interleave streams). */
export const MAX_DATA_CHUNK = 32 * 1024;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

function controlHeader(type: number, flags: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(8 + length);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return b;
}

/** The header (8 bytes) of a DATA frame; the payload is written after it as is. */
export function dataFrameHeader(streamId: number, flags: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return b;
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const b = controlHeader(FrameType.RST_STREAM, 0, 8);
  b.writeUInt32BE(streamId & 0x7fffffff, 8);
  b.writeUInt32BE(status, 12);
  return b;
}

export function pingFrame(id: number): Buffer {
  const b = controlHeader(FrameType.PING, 0, 4);
  b.writeUInt32BE(id >>> 0, 8);
  return b;
}

export function goAwayFrame(lastGoodStreamId: number, status = 0): Buffer {
  const b = controlHeader(FrameType.GOAWAY, 0, 8);
  b.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 8);
  b.writeUInt32BE(status, 12);
  return b;
}

/**
 * Writes the sending half of a connection's header compression: the zlib header with the
 * dictionary's id before the first block, then each header block as one stored deflate block
 * (BFINAL=0, so the stream goes on in the next frame, as a sync flush leaves it).
 */
export class HeaderBlockWriter {
  private started = false;

  /** The SPDY/3 name/value block for headers (names lower-cased, one entry per name). */
  encode(headers: Record<string, string | string[]>): Buffer {
    const entries = Object.entries(headers).map(([k, v]) => [Buffer.from(k.toLowerCase(), 'latin1'), Buffer.from(Array.isArray(v) ? v.join('\0') : v, 'latin1')] as const);
    let size = 4;
    for (const [k, v] of entries) size += 8 + k.length + v.length;
    const raw = Buffer.allocUnsafe(size);
    let o = raw.writeUInt32BE(entries.length, 0);
    for (const [k, v] of entries) {
      o = raw.writeUInt32BE(k.length, o);
      o += k.copy(raw, o);
      o = raw.writeUInt32BE(v.length, o);
      o += v.copy(raw, o);
    }
    return this.compress(raw);
  }

  private compress(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // CMF 0x78 (deflate, 32K window), FLG with FDICT set and FCHECK making CMF*256+FLG a multiple of 31.
      const cmf = 0x78;
      let flg = 0x20 | (3 << 6);
      flg += (31 - ((cmf * 256 + flg) % 31)) % 31;
      const hdr = Buffer.allocUnsafe(6);
      hdr[0] = cmf;
      hdr[1] = flg;
      hdr.writeUInt32BE(adler32(SPDY3_DICTIONARY), 2);
      parts.push(hdr);
    }
    for (let off = 0; off < raw.length; off += 0xffff) {
      const chunk = raw.subarray(off, off + 0xffff);
      const block = Buffer.allocUnsafe(5);
      block[0] = 0x00; // BFINAL=0, BTYPE=00 (stored)
      block.writeUInt16LE(chunk.length, 1);
      block.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(block, chunk);
    }
    // An empty stored block, as a sync flush ends with: a Go inflater hands out what it has
    // only on reaching it (or on running out of input, which it remembers as an error).
    parts.push(SYNC_FLUSH_MARKER);
    return Buffer.concat(parts);
  }
}

const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

export function synStreamFrame(streamId: number, headerBlock: Buffer, flags = 0, priority = 0): Buffer {
  const b = controlHeader(FrameType.SYN_STREAM, flags, 10 + headerBlock.length);
  b.writeUInt32BE(streamId & 0x7fffffff, 8);
  b.writeUInt32BE(0, 12); // associated-to stream id
  b[16] = (priority & 0x7) << 5;
  b[17] = 0; // credential slot
  headerBlock.copy(b, 18);
  return b;
}

/** Splits a byte stream into frames; payloads are views into the received chunks where possible. */
export class FrameReader {
  /** Bytes of an incomplete frame, kept as received until the frame is whole (one concat then). */
  private pending: Buffer[] = [];
  private pendingSize = 0;
  /** Bytes the incomplete frame needs in all (8 until its header is known). */
  private need = 8;

  /** Appends chunk and returns the frames now complete. */
  push(chunk: Buffer): Frame[] {
    if (this.pending.length) {
      this.pending.push(chunk);
      this.pendingSize += chunk.length;
      if (this.pendingSize < this.need) return [];
      chunk = Buffer.concat(this.pending, this.pendingSize);
      this.pending = [];
      this.pendingSize = 0;
    }
    const out: Frame[] = [];
    let off = 0;
    while (chunk.length - off >= 8) {
      const w0 = chunk.readUInt32BE(off);
      const w1 = chunk.readUInt32BE(off + 4);
      const length = w1 & 0xffffff;
      if (chunk.length - off < 8 + length) {
        this.need = 8 + length;
        break;
      }
      const payload = chunk.subarray(off + 8, off + 8 + length);
      const flags = w1 >>> 24;
      if (w0 & 0x80000000) out.push({ kind: 'control', type: w0 & 0xffff, flags, payload });
      else out.push({ kind: 'data', streamId: w0 & 0x7fffffff, flags, data: payload });
      off += 8 + length;
    }
    if (off < chunk.length) {
      if (chunk.length - off < 8) this.need = 8;
      const rest = chunk.subarray(off);
      this.pending.push(rest);
      this.pendingSize = rest.length;
    }
    return out;
  }
}

// The hot path's view of a query: header, the one question (name lowercased into a reused
// scratch buffer) and the EDNS payload size, read straight from the datagram without a general
// decoder. Plus the few byte-level edits a cached response needs before it is sent back
// (the client's ID, RD bit and question spelling), and fitting a response into a size limit.
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

export const HEADER_LEN = 12;
export const TYPE_OPT = 41;
/** The answer size without EDNS (RFC 1035). */
export const CLASSIC_UDP_SIZE = 512;
/** The most we honour from a client's EDNS size, and advertise ourselves. */
export const MAX_UDP_SIZE = 4096;
export const MAX_TCP_SIZE = 65535;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_CD = 0x0010;

/** Outcome of parsing: a query to answer, or how to refuse it. */
export const enum ParseResult {
  Ok,
  /** Not worth answering (too short, or a response). */
  Drop,
  FormErr,
  NotImp,
}

/** A parsed query; one instance is reused per server, so read it before the next parse. */
export class ParsedQuery {
  id = 0;
  flags = 0;
  /** Lowercase, dot-separated, no trailing dot; "" for the root. */
  qname = '';
  qtype = 0;
  qclass = 0;
  /** Offset just past the question (the question spans HEADER_LEN..questionEnd). */
  questionEnd = 0;
  /** The client's EDNS UDP payload size, or 0 when the query carries no OPT record. */
  edns = 0;
  /** False when a label holds bytes that do not round-trip through a dotted name (dots, controls, non-ASCII). */
  plain = true;
  private scratch = Buffer.allocUnsafe(256);

  parse(buf: Buffer): ParseResult {
    if (buf.length < HEADER_LEN) return ParseResult.Drop;
    this.id = buf.readUInt16BE(0);
    this.flags = buf.readUInt16BE(2);
    if (this.flags & FLAG_QR) return ParseResult.Drop;
    this.questionEnd = 0;
    this.edns = 0;
    this.plain = true;
    if (((this.flags >> 11) & 0xf) !== 0) return ParseResult.NotImp;
    if (buf.readUInt16BE(4) !== 1) return ParseResult.FormErr;
    // The question name: uncompressed labels.
    let off = HEADER_LEN;
    let len = 0;
    const s = this.scratch;
    for (;;) {
      if (off >= buf.length) return ParseResult.FormErr;
      const l = buf[off++];
      if (l === 0) break;
      if (l > 63 || off + l > buf.length || len + l + 1 > 255) return ParseResult.FormErr;
      if (len > 0) s[len++] = 46;
      for (let i = 0; i < l; i++) {
        let c = buf[off + i];
        if (c >= 65 && c <= 90) c += 32;
        else if (c <= 32 || c >= 127 || c === 46) this.plain = false;
        s[len++] = c;
      }
      off += l;
    }
    if (off + 4 > buf.length) return ParseResult.FormErr;
    this.qname = s.toString('latin1', 0, len);
    this.qtype = buf.readUInt16BE(off);
    this.qclass = buf.readUInt16BE(off + 2);
    off += 4;
    this.questionEnd = off;
    // Find an OPT record among the additional records (queries rarely carry answers or authorities).
    const skip = buf.readUInt16BE(6) + buf.readUInt16BE(8);
    const additional = buf.readUInt16BE(10);
    for (let i = 0; i < skip + additional; i++) {
      off = skipName(buf, off);
      if (off < 0 || off + 10 > buf.length) return ParseResult.FormErr;
      const type = buf.readUInt16BE(off);
      if (i >= skip && type === TYPE_OPT) this.edns = Math.max(CLASSIC_UDP_SIZE, buf.readUInt16BE(off + 2));
      off += 10 + buf.readUInt16BE(off + 8);
      if (off > buf.length) return ParseResult.FormErr;
    }
    return ParseResult.Ok;
  }

  /** The largest response this client takes over UDP. */
  get udpLimit(): number {
    return this.edns ? Math.min(this.edns, MAX_UDP_SIZE) : CLASSIC_UDP_SIZE;
  }
}

/** Offset past a (possibly compressed) name, or -1. */
function skipName(buf: Buffer, off: number): number {
  for (;;) {
    if (off >= buf.length) return -1;
    const l = buf[off];
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2;
    if (l > 63) return -1;
    off += l + 1;
  }
}

/**
 * The response to send: a copy of a prepared response (ID 0, any spelling of the name) with the
 * client's ID, RD and CD bits and the client's own question bytes, so 0x20-style mixed case
 * comes back exactly as asked.
 */
export function stampResponse(prepared: Buffer, query: Buffer, q: ParsedQuery): Buffer {
  const out = Buffer.allocUnsafe(prepared.length);
  prepared.copy(out);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE((prepared.readUInt16BE(2) & ~(FLAG_RD | FLAG_CD)) | (q.flags & (FLAG_RD | FLAG_CD)), 2);
  query.copy(out, HEADER_LEN, HEADER_LEN, q.questionEnd);
  return out;
}

/** A bare response (header and question only) with the given rcode, for errors and refusals. */
export function errorResponse(query: Buffer, q: ParsedQuery, rcode: number, extraFlags = 0): Buffer {
  const qend = q.questionEnd || HEADER_LEN;
  const out = Buffer.allocUnsafe(qend);
  query.copy(out, 0, 0, qend);
  out.writeUInt16BE(FLAG_QR | FLAG_RA | (q.flags & (FLAG_RD | FLAG_CD | 0x7800)) | extraFlags | (rcode & 0xf), 2);
  out.writeUInt16BE(q.questionEnd ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

/**
 * Encodes a response within limit bytes: first additional records go (keeping OPT), then, with
 * the TC bit set, authority records and as many trailing answers as needed.
 */
export function encodeWithin(packet: Packet, limit: number): Buffer {
  if (dnsPacket.encodingLength(packet) <= limit) return dnsPacket.encode(packet);
  const opt = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  packet.additionals = opt;
  if (dnsPacket.encodingLength(packet) <= limit) return dnsPacket.encode(packet);
  packet.flags = (packet.flags ?? 0) | FLAG_TC;
  packet.authorities = [];
  const all = packet.answers ?? [];
  // Largest prefix of the answers that fits.
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    packet.answers = all.slice(0, mid);
    if (dnsPacket.encodingLength(packet) <= limit) lo = mid;
    else hi = mid - 1;
  }
  packet.answers = all.slice(0, lo);
  return dnsPacket.encode(packet);
}

/** The OPT record we answer EDNS queries with. */
export function optRecord(): Answer {
  return { name: '.', type: 'OPT', udpPayloadSize: MAX_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as unknown as Answer;
}

/** Sets TC on a copy of an upstream reply that is too big for the client and keeps only header and question. */
export function truncateReply(reply: Buffer, questionEnd: number): Buffer {
  const out = Buffer.allocUnsafe(questionEnd);
  reply.copy(out, 0, 0, questionEnd);
  out.writeUInt16BE(reply.readUInt16BE(2) | FLAG_TC, 2);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}

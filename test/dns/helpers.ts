// Test helpers for cluster DNS: raw UDP/TCP queries with dns-packet, and a fake upstream
// resolver on 127.0.0.1 (tests never dial anything else).
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from 'dns-packet';

let nextId = 1;

/** A decoded reply: the typings omit rcode, and tests read record fields loosely. */
export type Reply = Omit<DecodedPacket, 'answers' | 'authorities' | 'additionals'> & { rcode: string; answers: any[]; authorities: any[]; additionals: any[] };

function decode(buf: Buffer): Reply {
  return dnsPacket.decode(buf) as Reply;
}

export function query(name: string, type: RecordType, opts: { edns?: number; id?: number } = {}): Packet {
  return {
    type: 'query',
    id: opts.id ?? (nextId++ & 0xffff),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: opts.edns, flags: 0, options: [] } as any] : [],
  };
}

/** Sends raw bytes over UDP and returns the raw reply. */
export { decode };

export function udpRaw(port: number, msg: Buffer, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('udp query timed out'));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

export async function udpQuery(port: number, p: Packet): Promise<{ raw: Buffer; msg: Reply }> {
  const raw = await udpRaw(port, dnsPacket.encode(p));
  return { raw, msg: decode(raw) };
}

/** One or more queries over one TCP connection; replies in order of arrival. */
export function tcpQueries(port: number, packets: Packet[], timeoutMs = 3000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const out: Reply[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error('tcp query timed out'));
    }, timeoutMs);
    sock.on('error', reject);
    sock.on('connect', () => {
      for (const p of packets) sock.write(dnsPacket.streamEncode(p));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        out.push(decode(buf.subarray(2, 2 + n)));
        buf = buf.subarray(2 + n);
      }
      if (out.length === packets.length) {
        clearTimeout(t);
        sock.destroy();
        resolve(out);
      }
    });
  });
}

export interface FakeUpstream {
  port: number;
  /** Names asked, lowercase, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A resolver on 127.0.0.1 that answers A for names in records and NXDOMAIN for anything else,
 * echoing the query's ID and question.
 */
export async function fakeUpstream(records: Record<string, string[]>): Promise<FakeUpstream> {
  const s = dgram.createSocket('udp4');
  const seen: string[] = [];
  s.on('message', (m, rinfo) => {
    const q = dnsPacket.decode(m);
    const question = q.questions![0];
    const name = question.name.toLowerCase();
    seen.push(name);
    const ips = records[name];
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_AVAILABLE | (q.flags! & dnsPacket.RECURSION_DESIRED) | (ips ? 0 : 3),
      questions: [question],
      answers: ips && question.type === 'A' ? ips.map((ip) => ({ name: question.name, type: 'A' as const, ttl: 60, data: ip })) : [],
    });
    s.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return {
    port: s.address().port,
    seen,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

/** Polls until fn stops throwing (returns its value) or the time runs out (rethrows). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

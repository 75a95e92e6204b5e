// Forwarding of names outside the cluster domain to upstream resolvers, like CoreDNS's
// `forward . /etc/resolv.conf`: one shared UDP socket per address family with our own query IDs
// (so many clients' queries can be outstanding at once), a per-try timeout, the next upstream on
// failure, and a TCP retry when the client asked over TCP and the UDP reply came back truncated.
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { FLAG_TC, HEADER_LEN } from './wire.js';

export interface Upstream {
  host: string;
  port: number;
}

interface Pending {
  question: Buffer;
  resolve(reply: Buffer | undefined): void;
  timer: NodeJS.Timeout;
}

/** "1.2.3.4", "1.2.3.4:53", "[fd00::1]:53", "fd00::1" → host and port. */
export function parseUpstream(text: string): Upstream {
  const t = text.trim().replace(/^(udp|dns):\/\//, '');
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : 53 };
  if (net.isIPv6(t)) return { host: t, port: 53 };
  const colon = t.lastIndexOf(':');
  if (colon > 0 && net.isIPv4(t.slice(0, colon))) return { host: t.slice(0, colon), port: Number(t.slice(colon + 1)) };
  if (net.isIPv4(t)) return { host: t, port: 53 };
  throw new Error(`invalid upstream DNS server ${JSON.stringify(text)}: want IP or IP:port`);
}

/** The nameservers of a resolv.conf file (the default upstreams), or [] when it cannot be read. */
export function resolvConfNameservers(path = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'nameserver' && f[1] && net.isIP(f[1].split('%')[0])) out.push(f[1].split('%')[0]);
  }
  return out;
}

export class Forwarder {
  private readonly sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private nextId = Math.floor(Math.random() * 0x10000);
  private closed = false;

  constructor(
    readonly upstreams: Upstream[],
    private readonly timeoutMs = 2000,
  ) {}

  get enabled(): boolean {
    return this.upstreams.length > 0;
  }

  /**
   * Sends a raw query (its own ID is replaced on the wire and restored in the reply) to each
   * upstream in turn until one answers. Undefined when none did.
   */
  async query(raw: Buffer, questionEnd: number, overTcp: boolean): Promise<Buffer | undefined> {
    for (const up of this.upstreams) {
      if (this.closed) return undefined;
      let reply = await this.udp(up, raw, questionEnd);
      if (reply && overTcp && reply.readUInt16BE(2) & FLAG_TC) reply = (await this.tcp(up, raw)) ?? reply;
      if (reply) {
        reply.writeUInt16BE(raw.readUInt16BE(0), 0);
        return reply;
      }
    }
    return undefined;
  }

  private socket(host: string): dgram.Socket {
    const type = net.isIPv6(host) ? 'udp6' : 'udp4';
    let s = this.sockets.get(type);
    if (!s) {
      s = dgram.createSocket(type);
      s.on('message', (msg) => this.onReply(msg));
      s.on('error', () => undefined);
      s.unref();
      this.sockets.set(type, s);
    }
    return s;
  }

  private onReply(msg: Buffer): void {
    if (msg.length < HEADER_LEN) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    // The reply must repeat our question; anything else is stale or spoofed.
    if (!p || msg.length < HEADER_LEN + p.question.length || !p.question.equals(msg.subarray(HEADER_LEN, HEADER_LEN + p.question.length))) return;
    this.pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    p.resolve(msg);
  }

  private udp(up: Upstream, raw: Buffer, questionEnd: number): Promise<Buffer | undefined> {
    if (this.pending.size >= 0xf000) return Promise.resolve(undefined);
    let id = this.nextId;
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    this.nextId = (id + 1) & 0xffff;
    const msg = Buffer.from(raw);
    msg.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      this.pending.set(id, { question: raw.subarray(HEADER_LEN, questionEnd), resolve, timer });
      this.socket(up.host).send(msg, up.port, up.host, (err) => {
        if (err && this.pending.get(id)?.timer === timer) {
          this.pending.delete(id);
          clearTimeout(timer);
          resolve(undefined);
        }
      });
    });
  }

  /** One query over a fresh TCP connection (2-byte length framing). */
  private tcp(up: Upstream, raw: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = net.connect({ host: up.host, port: up.port });
      let buf = Buffer.alloc(0);
      const done = (r: Buffer | undefined) => {
        sock.destroy();
        resolve(r);
      };
      sock.setTimeout(this.timeoutMs, () => done(undefined));
      sock.on('error', () => done(undefined));
      sock.on('connect', () => {
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(raw.length, 0);
        sock.write(Buffer.concat([len, raw]));
      });
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      });
      sock.on('end', () => done(undefined));
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

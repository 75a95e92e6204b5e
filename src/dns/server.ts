// The cluster DNS server (what CoreDNS with the kubernetes and forward plugins does for a
// cluster): UDP and TCP on each listen address, answers for the cluster domain and cluster
// reverse names from informer-fed indices, everything else forwarded upstream.
//
// Hot path: a query is parsed in place (ParsedQuery), and a cluster answer is looked up in a
// response cache keyed by name, type and size limit; the cached bytes are copied once with the
// client's ID and question stamped in. Each cached answer remembers the generation of what it
// was built from (one service, or the whole index for reverse and namespace names), so a change
// to one service only retires that service's answers, and answers are as fresh as the informers.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet, type RecordType } from 'dns-packet';
import { GVR, SharedInformerFactory, type Client, type SharedInformer } from '../client/index.js';
import { ClusterIndex } from './cluster-index.js';
import { ClusterZone, RCODE, type ZoneAnswer } from './cluster-zone.js';
import { Forwarder, parseUpstream, resolvConfNameservers } from './forwarder.js';
import {
  FLAG_AA,
  FLAG_RA,
  FLAG_RD,
  MAX_TCP_SIZE,
  ParsedQuery,
  ParseResult,
  encodeWithin,
  errorResponse,
  optRecord,
  stampResponse,
  truncateReply,
} from './wire.js';

export interface DnsOptions {
  client: Client;
  listen: Array<{ host: string; port: number }>;
  /** Default cluster.local. */
  clusterDomain?: string;
  /** Upstream resolvers ("IP" or "IP:port"); default: the nameservers of /etc/resolv.conf. */
  upstream?: string[];
  /** TTL of cluster records, seconds (default 5, as CoreDNS's kubernetes plugin). */
  ttl?: number;
  /** Share informers with other in-process components (only our two informers are started). */
  informers?: SharedInformerFactory;
  /** Per-upstream timeout (default 2000 ms). */
  upstreamTimeoutMs?: number;
  /** How long to wait for the informers' first list before serving anyway (default 5000 ms). */
  syncTimeoutMs?: number;
}

export interface DnsStats {
  queries: number;
  cacheHits: number;
  forwarded: number;
  forwardFailures: number;
}

export interface DnsServerHandle {
  /** The bound addresses (ports resolved when 0 was asked for); UDP and TCP share each. */
  addresses: Array<{ host: string; port: number }>;
  stats(): DnsStats;
  stop(): Promise<void>;
}

const CACHE_MAX_ENTRIES = 20_000;

interface CacheEntry {
  response: Buffer;
  /** What the answer depends on (ClusterIndex.generationOf) and that dependency's generation then. */
  dep: string;
  generation: number;
}
const TCP_IDLE_MS = 10_000;

/** The types an ExternalName target is chased for (ANY asks upstream for A). */
const TYPE_NAMES: Record<number, RecordType> = { 1: 'A', 28: 'AAAA', 255: 'A' };

export async function startDns(opts: DnsOptions): Promise<DnsServerHandle> {
  const zone = (opts.clusterDomain ?? 'cluster.local').toLowerCase().replace(/^\.+|\.+$/g, '');
  const ttl = opts.ttl ?? 5;
  const factory = opts.informers ?? new SharedInformerFactory(opts.client);
  const services = factory.informer(GVR.services);
  const slices = factory.informer(GVR.endpointSlices);
  const index = new ClusterIndex(services, slices, zone);
  const regs = [services.addEventHandler(index.serviceHandlers()), slices.addEventHandler(index.sliceHandlers())];
  services.start();
  slices.start();
  await waitForSync([services, slices], opts.syncTimeoutMs ?? 5000);

  const upstreams = (opts.upstream ?? resolvConfNameservers()).map(parseUpstream);
  const server = new DnsServer(new ClusterZone(index, zone, ttl), index, upstreams, opts.upstreamTimeoutMs ?? 2000);
  try {
    await server.listen(opts.listen);
  } catch (e) {
    await server.close();
    for (const r of regs) r.remove();
    if (!opts.informers) factory.stop();
    throw e;
  }
  return {
    addresses: server.addresses,
    stats: () => ({ ...server.counters }),
    async stop() {
      await server.close();
      for (const r of regs) r.remove();
      if (!opts.informers) factory.stop();
    },
  };
}

async function waitForSync(informers: SharedInformer[], timeoutMs: number): Promise<void> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    await Promise.all(informers.map((i) => i.waitForSync(ac.signal)));
  } finally {
    clearTimeout(t);
  }
}

class DnsServer {
  readonly addresses: Array<{ host: string; port: number }> = [];
  readonly counters: DnsStats = { queries: 0, cacheHits: 0, forwarded: 0, forwardFailures: 0 };
  private readonly udpSockets: dgram.Socket[] = [];
  private readonly tcpServers: net.Server[] = [];
  private readonly tcpConns = new Set<net.Socket>();
  private readonly q = new ParsedQuery();
  private readonly forwarder: Forwarder;
  /** "qtype/limit/qname" → prepared response (ID 0) and the generation of what it was built from. */
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly zone: ClusterZone,
    private readonly index: ClusterIndex,
    upstreams: Array<{ host: string; port: number }>,
    upstreamTimeoutMs: number,
  ) {
    this.forwarder = new Forwarder(upstreams, upstreamTimeoutMs);
  }

  async listen(addrs: Array<{ host: string; port: number }>): Promise<void> {
    for (const a of addrs) {
      const bound = await this.bindPair(a.host, a.port);
      this.addresses.push({ host: a.host, port: bound });
    }
    // Never forward to ourselves: a resolv.conf naming this server would loop.
    const self = new Set(this.addresses.map((a) => `${a.host}:${a.port}`));
    const ups = this.forwarder.upstreams;
    for (let i = ups.length - 1; i >= 0; i--) if (self.has(`${ups[i].host}:${ups[i].port}`)) ups.splice(i, 1);
  }

  /** Binds UDP, then TCP on the same port (retrying with a new port when 0 was asked and TCP's is taken). */
  private async bindPair(host: string, port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
      await new Promise<void>((res, rej) => {
        udp.once('error', rej);
        udp.bind(port, host, () => {
          udp.off('error', rej);
          res();
        });
      });
      const actual = udp.address().port;
      const tcp = net.createServer((s) => this.onTcp(s));
      try {
        await new Promise<void>((res, rej) => {
          tcp.once('error', rej);
          tcp.listen(actual, host, () => {
            tcp.off('error', rej);
            res();
          });
        });
      } catch (e) {
        udp.close();
        if (port === 0 && attempt < 10) continue;
        throw e;
      }
      udp.on('error', () => undefined);
      udp.on('message', (msg, rinfo) => this.onUdp(udp, msg, rinfo));
      this.udpSockets.push(udp);
      this.tcpServers.push(tcp);
      return actual;
    }
  }

  private onUdp(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const r = this.handle(msg, false);
    if (r === undefined) return;
    if (r instanceof Promise) void r.then((b) => b && sock.send(b, rinfo.port, rinfo.address));
    else sock.send(r, rinfo.port, rinfo.address);
  }

  private onTcp(sock: net.Socket): void {
    this.tcpConns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => this.tcpConns.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    const send = (b: Buffer | undefined) => {
      if (!b || sock.destroyed) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(b.length, 0);
      sock.cork();
      sock.write(len);
      sock.write(b);
      sock.uncork();
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        const r = this.handle(msg, true);
        if (r instanceof Promise) void r.then(send);
        else send(r);
      }
    });
  }

  /** The response to one query: bytes now, bytes later (forwarded), or nothing (dropped). */
  private handle(msg: Buffer, tcp: boolean): Buffer | Promise<Buffer | undefined> | undefined {
    const q = this.q;
    const parsed = q.parse(msg);
    if (parsed === ParseResult.Drop) return undefined;
    this.counters.queries++;
    if (parsed === ParseResult.FormErr) return errorResponse(msg, q, RCODE.FORMERR);
    if (parsed === ParseResult.NotImp) return errorResponse(msg, q, RCODE.NOTIMP);
    const limit = tcp ? MAX_TCP_SIZE : q.udpLimit;

    // The key keeps EDNS and non-EDNS apart: only EDNS queries get an OPT record back.
    const key = `${q.qtype}/${tcp ? 'T' : q.edns ? limit : 0}/${q.qname}`;
    const hit = this.cache.get(key);
    if (hit && hit.generation === this.index.generationOf(hit.dep)) {
      this.counters.cacheHits++;
      return stampResponse(hit.response, msg, q);
    }

    const inIN = q.qclass === 1 || q.qclass === 255;
    const answer = q.plain && inIN ? this.zone.answer(q.qname, q.qtype) : undefined;
    if (answer) {
      if (answer.chase && this.forwarder.enabled && TYPE_NAMES[q.qtype]) return this.chase(msg, answer, limit, tcp);
      const prepared = this.encode(answer, q.qname, q.edns > 0, limit);
      if (this.cache.size >= CACHE_MAX_ENTRIES && !hit) this.cache.clear();
      this.cache.set(key, { response: prepared, dep: answer.dep, generation: this.index.generationOf(answer.dep) });
      return stampResponse(prepared, msg, q);
    }
    // Cluster names never leave the server: odd bytes in a label mean no such name, another class is refused.
    if (this.zone.owns(q.qname)) return errorResponse(msg, q, inIN ? RCODE.NXDOMAIN : RCODE.REFUSED);
    if (!this.forwarder.enabled) {
      // Reverse names we do not know are NXDOMAIN without an upstream; anything else fails.
      const reverse = q.qname.endsWith('.in-addr.arpa') || q.qname.endsWith('.ip6.arpa');
      return errorResponse(msg, q, reverse ? RCODE.NXDOMAIN : RCODE.SERVFAIL);
    }
    return this.forward(msg, tcp, limit);
  }

  private forward(msg: Buffer, tcp: boolean, limit: number): Promise<Buffer> {
    // Keep what we need from the shared ParsedQuery before awaiting.
    const questionEnd = this.q.questionEnd;
    const failure = errorResponse(msg, this.q, RCODE.SERVFAIL);
    this.counters.forwarded++;
    return this.forwarder.query(msg, questionEnd, tcp).then((reply) => {
      if (!reply) {
        this.counters.forwardFailures++;
        return failure;
      }
      return reply.length > limit ? truncateReply(reply, questionEnd) : reply;
    });
  }

  /** An ExternalName CNAME whose target lives outside the cluster: append the target's records from upstream. */
  private async chase(msg: Buffer, answer: ZoneAnswer, limit: number, tcp: boolean): Promise<Buffer> {
    const q = this.q;
    const snapshot = { id: q.id, flags: q.flags, questionEnd: q.questionEnd, edns: q.edns, qname: q.qname };
    const stamp = Object.assign(new ParsedQuery(), snapshot);
    const { name, qtype } = answer.chase!;
    const type = TYPE_NAMES[qtype];
    const query = dnsPacket.encode({ type: 'query', id: 0, flags: FLAG_RD, questions: [{ name, type, class: 'IN' }] });
    this.counters.forwarded++;
    const reply = await this.forwarder.query(query, query.length, tcp);
    if (reply) {
      try {
        const decoded = dnsPacket.decode(reply);
        for (const a of decoded.answers ?? []) if (a.type === 'A' || a.type === 'AAAA' || a.type === 'CNAME') answer.answers.push(a);
      } catch {
        // A malformed upstream reply leaves just the CNAME.
      }
    } else this.counters.forwardFailures++;
    return stampResponse(this.encode(answer, snapshot.qname, snapshot.edns > 0, limit), msg, stamp);
  }

  /** Encodes an answer (ID 0; the question is a placeholder of the right length that stamping overwrites). */
  private encode(a: ZoneAnswer, qname: string, edns: boolean, limit: number): Buffer {
    const packet: Packet = {
      type: 'response',
      id: 0,
      flags: FLAG_AA | FLAG_RA | a.rcode,
      questions: [{ name: qname || '.', type: 'A', class: 'IN' }],
      answers: a.answers,
      authorities: a.authorities,
      additionals: edns ? [...a.additionals, optRecord()] : a.additionals,
    };
    return encodeWithin(packet, limit);
  }

  async close(): Promise<void> {
    this.forwarder.close();
    for (const s of this.tcpConns) s.destroy();
    await Promise.all([
      ...this.udpSockets.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...this.tcpServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
    this.udpSockets.length = 0;
    this.tcpServers.length = 0;
  }
}


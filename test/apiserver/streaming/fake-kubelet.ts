// A stand-in for the kubelet's streaming endpoints in unit tests: a plain-HTTP server that
// accepts SPDY/3.1 upgrades and speaks the server side of remote command v4 the way
// moby/spdystream and the kubelet do (SYN_REPLY for each stream, DATA dropped until then,
// the Status on the error stream, then RST_STREAM, GOAWAY and close), plus a byte-echo
// endpoint for tunnelled port-forward.
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import zlib from 'node:zlib';
import type { Duplex } from 'node:stream';
import { SPDY3_DICTIONARY } from '../../../src/apiserver/streaming/spdy/dictionary.js';
import { dataFrameHeader, FLAG_FIN, FrameReader, FrameType, goAwayFrame, pingFrame, rstStreamFrame } from '../../../src/apiserver/streaming/spdy/frames.js';

export interface ServerStream {
  id: number;
  type: string;
  data: Buffer[];
  fin: boolean;
  replied: boolean;
}

/** One SPDY connection as the server sees it. */
export class ServerConn {
  readonly streams = new Map<number, ServerStream>();
  /** DATA frames that arrived before their stream was answered (spdystream drops them). */
  dataBeforeReply = 0;
  pongs: number[] = [];
  goAwayReceived = false;
  private readonly reader = new FrameReader();
  private compressed: Buffer[] = [];
  private inflatedSoFar = 0;
  onStream?: (s: ServerStream) => void;
  onData?: (s: ServerStream, d: Buffer) => void;
  onFin?: (s: ServerStream) => void;

  constructor(
    readonly socket: Duplex,
    private readonly replyDelayMs: number,
  ) {
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('error', () => undefined);
  }

  private receive(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) {
      if (f.kind === 'data') {
        const s = this.streams.get(f.streamId);
        if (!s) continue;
        if (!s.replied) {
          this.dataBeforeReply++;
          continue;
        }
        if (f.data.length) {
          s.data.push(Buffer.from(f.data));
          this.onData?.(s, f.data);
        }
        if (f.flags & FLAG_FIN) {
          s.fin = true;
          this.onFin?.(s);
        }
        continue;
      }
      if (f.type === FrameType.SYN_STREAM) {
        const id = f.payload.readUInt32BE(0);
        const headers = this.inflate(f.payload.subarray(10));
        const s: ServerStream = { id, type: headers.streamtype ?? '', data: [], fin: false, replied: false };
        this.streams.set(id, s);
        setTimeout(() => {
          this.reply(id);
          s.replied = true;
          this.onStream?.(s);
        }, this.replyDelayMs);
      } else if (f.type === FrameType.PING) {
        this.pongs.push(f.payload.readUInt32BE(0));
      } else if (f.type === FrameType.GOAWAY) {
        this.goAwayReceived = true;
      }
    }
  }

  /** The header block of this frame, inflated as part of the connection's one zlib stream. */
  private inflate(block: Buffer): Record<string, string> {
    this.compressed.push(block);
    const raw = zlib.inflateSync(Buffer.concat(this.compressed), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const mine = raw.subarray(this.inflatedSoFar);
    this.inflatedSoFar = raw.length;
    const out: Record<string, string> = {};
    let o = 4;
    for (let i = 0; i < mine.readUInt32BE(0); i++) {
      const kl = mine.readUInt32BE(o);
      const k = mine.subarray(o + 4, o + 4 + kl).toString('latin1');
      o += 4 + kl;
      const vl = mine.readUInt32BE(o);
      out[k] = mine.subarray(o + 4, o + 4 + vl).toString('latin1');
      o += 4 + vl;
    }
    return out;
  }

  private reply(id: number): void {
    // An empty header block from a compressor of our own (the client never inflates it).
    const block = zlib.deflateSync(Buffer.alloc(4), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const f = Buffer.alloc(12 + block.length);
    f.writeUInt16BE(0x8003, 0);
    f.writeUInt16BE(FrameType.SYN_REPLY, 2);
    f.writeUInt32BE(4 + block.length, 4);
    f.writeUInt32BE(id, 8);
    block.copy(f, 12);
    this.socket.write(f);
  }

  stream(type: string): ServerStream | undefined {
    return [...this.streams.values()].find((s) => s.type === type);
  }

  write(type: string, data: string | Buffer, fin = false): void {
    const s = this.stream(type);
    if (!s) throw new Error(`no ${type} stream`);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.socket.write(Buffer.concat([dataFrameHeader(s.id, fin ? FLAG_FIN : 0, buf.length), buf]));
  }

  ping(id: number): void {
    this.socket.write(pingFrame(id));
  }

  /** As the kubelet ends a session: reset every stream, GOAWAY, close. */
  close(): void {
    for (const s of this.streams.values()) this.socket.write(rstStreamFrame(s.id, 5));
    this.socket.write(goAwayFrame(0));
    this.socket.end();
  }
}

export interface FakeKubelet {
  port: number;
  /** Upgrade requests seen: method, path and headers. */
  requests: IncomingMessage[];
  conns: ServerConn[];
  close(): Promise<void>;
}

/**
 * Starts the fake. Paths: /exec... (remote command v4; session(conn, url) drives it),
 * /refuse (404 text), /status403 (403 Status JSON), /portForward... (echoes the bytes).
 */
export async function startFakeKubelet(session: (c: ServerConn, url: URL) => void, opts: { replyDelayMs?: number } = {}): Promise<FakeKubelet> {
  const requests: IncomingMessage[] = [];
  const conns: ServerConn[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(400);
    res.end('Upgrade request required');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    requests.push(req);
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
    if (url.pathname === '/refuse') {
      const body = 'container not found ("web")\n';
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    if (url.pathname === '/status403') {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'nope', reason: 'Forbidden', code: 403 });
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    const proto = url.pathname.startsWith('/portForward') ? 'portforward.k8s.io' : 'v4.channel.k8s.io';
    if (String(req.headers.upgrade).toLowerCase() !== 'spdy/3.1' || !offered.includes(proto)) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${proto}\r\n\r\n`);
    if (proto === 'portforward.k8s.io') {
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
      return;
    }
    const c = new ServerConn(socket, opts.replyDelayMs ?? 0);
    conns.push(c);
    session(c, url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    requests,
    conns,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

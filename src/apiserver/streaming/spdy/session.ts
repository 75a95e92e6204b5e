// The client end of a SPDY/3.1 connection to a Kubernetes streaming server (the kubelet, and
// behind it the container runtime, both moby/spdystream): open streams with headers, write
// DATA, half-close with FIN, reset, answer the server's PINGs.
// spdystream drops DATA that reaches it before it has answered the stream's SYN_STREAM, so a
// stream's data (and FIN) waits here for the SYN_REPLY, as client-go's CreateStream does.
// spdystream implements no flow control (it never sends WINDOW_UPDATE), so none is enforced.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  dataFrameHeader,
  FLAG_FIN,
  FrameReader,
  FrameType,
  goAwayFrame,
  HeaderBlockWriter,
  MAX_DATA_CHUNK,
  pingFrame,
  RstStatus,
  rstStreamFrame,
  synStreamFrame,
  type Frame,
} from './frames.js';

export class SpdyStream {
  /** Data the server sent on this stream. */
  onData?: (data: Buffer) => void;
  /** The server is done with this stream: FIN, RST_STREAM, or the connection went away. */
  onEnd?: (how: 'fin' | 'reset' | 'closed') => void;
  private replied = false;
  private waiting: Buffer[] = [];
  private localClosed = false;
  private remoteClosed = false;

  constructor(
    readonly id: number,
    private readonly session: SpdyClientSession,
  ) {}

  get ended(): boolean {
    return this.remoteClosed;
  }

  /** Writes data (split into DATA frames); false when the connection asks to slow down. */
  write(data: Buffer): boolean {
    if (this.localClosed || !data.length) return true;
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA_CHUNK) {
      const chunk = data.subarray(off, off + MAX_DATA_CHUNK);
      ok = this.send([dataFrameHeader(this.id, 0, chunk.length), chunk]);
    }
    return ok;
  }

  /** Half-closes: an empty DATA frame with FIN (stdin EOF). */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.send([dataFrameHeader(this.id, FLAG_FIN, 0)]);
  }

  /** Tears the stream down both ways. */
  reset(status: number = RstStatus.CANCEL): void {
    this.localClosed = true;
    this.waiting = [];
    this.session.writeFrames([rstStreamFrame(this.id, status)]);
    this.remoteEnd('reset');
  }

  private send(bufs: Buffer[]): boolean {
    if (this.replied) return this.session.writeFrames(bufs);
    this.waiting.push(...bufs);
    return true;
  }

  /** @internal */
  handleReply(fin: boolean): void {
    if (this.replied) return;
    this.replied = true;
    const w = this.waiting;
    this.waiting = [];
    if (w.length) this.session.writeFrames(w);
    if (fin) this.remoteEnd('fin');
  }

  /** @internal */
  handleData(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data.length) this.onData?.(data);
    if (fin) this.remoteEnd('fin');
  }

  /** @internal */
  remoteEnd(how: 'fin' | 'reset' | 'closed'): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    if (how !== 'fin') this.localClosed = true;
    this.session.forget(this);
    this.onEnd?.(how);
  }
}

/**
 * A SPDY/3.1 client session over an upgraded connection. Events: 'drain' (the connection
 * took what was buffered), 'goaway', 'close' (the connection is gone; every stream has ended).
 */
export class SpdyClientSession extends EventEmitter {
  private readonly reader = new FrameReader();
  private readonly headers = new HeaderBlockWriter();
  private readonly streams = new Map<number, SpdyStream>();
  private nextId = 1;
  private closed = false;
  private goneAway = false;

  constructor(
    private readonly socket: Duplex,
    head?: Buffer,
  ) {
    super();
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onSocketClose());
    socket.on('end', () => socket.end());
    if (head?.length) queueMicrotask(() => this.receive(head));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a stream (SYN_STREAM) with these headers, e.g. { streamType: 'stdout' }. */
  open(headers: Record<string, string | string[]>): SpdyStream {
    if (this.closed || this.goneAway) throw new Error('SPDY connection is closed');
    const id = this.nextId;
    this.nextId += 2;
    const stream = new SpdyStream(id, this);
    this.streams.set(id, stream);
    this.writeFrames([synStreamFrame(id, this.headers.encode(headers))]);
    return stream;
  }

  /** Resets the open streams, says GOAWAY and closes the connection. */
  close(): void {
    if (this.closed) return;
    for (const s of [...this.streams.values()]) s.reset();
    if (!this.goneAway) {
      this.goneAway = true;
      this.writeFrames([goAwayFrame(0)]);
    }
    this.socket.end();
    // A server that keeps its end open does not hold the connection for long.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal Writes frames as one batch; false when the socket buffers above its mark. */
  writeFrames(bufs: Buffer[]): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return true;
    if (bufs.length === 1) return this.socket.write(bufs[0]);
    this.socket.cork();
    let ok = true;
    for (const b of bufs) ok = this.socket.write(b);
    this.socket.uncork();
    return ok;
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
  }

  private receive(chunk: Buffer): void {
    let frames: Frame[];
    frames = this.reader.push(chunk);
    for (const f of frames) {
      if (f.kind === 'data') {
        this.streams.get(f.streamId)?.handleData(f.data, (f.flags & FLAG_FIN) !== 0);
        continue;
      }
      const p = f.payload;
      switch (f.type) {
        case FrameType.SYN_REPLY:
          if (p.length >= 4) this.streams.get(p.readUInt32BE(0) & 0x7fffffff)?.handleReply((f.flags & FLAG_FIN) !== 0);
          break;
        case FrameType.RST_STREAM:
          if (p.length >= 4) this.streams.get(p.readUInt32BE(0) & 0x7fffffff)?.remoteEnd('reset');
          break;
        case FrameType.PING:
          // The server's pings have even ids and are echoed; ours (odd) are never sent.
          if (p.length >= 4 && (p.readUInt32BE(0) & 1) === 0) this.writeFrames([pingFrame(p.readUInt32BE(0))]);
          break;
        case FrameType.GOAWAY:
          this.goneAway = true;
          this.emit('goaway');
          break;
        case FrameType.SYN_STREAM:
          // Kubernetes servers never open streams towards the client.
          if (p.length >= 4) this.writeFrames([rstStreamFrame(p.readUInt32BE(0) & 0x7fffffff, RstStatus.REFUSED_STREAM)]);
          break;
        case FrameType.HEADERS:
        case FrameType.SETTINGS:
        case FrameType.WINDOW_UPDATE:
        default:
          break;
      }
    }
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s.remoteEnd('closed');
    this.emit('close');
  }
}

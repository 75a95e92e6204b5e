// The in-process transport: components running inside `skiff server` talk HTTP to the API
// server over an in-memory socket pair instead of TCP+TLS, so every request still passes the
// whole handler chain (authentication, admission, validation, storage) at a fraction of the cost.
import { Duplex } from 'node:stream';
import type { UserInfo } from './context.js';

/** Marks the server end of an in-process connection with the identity of its client. */
export const IN_PROCESS_USER = Symbol('skiff.inProcessUser');

class PipeEnd extends Duplex {
  peer!: PipeEnd;
  // Properties http expects of a net.Socket.
  remoteAddress = '127.0.0.1';
  remotePort = 0;
  localAddress = '127.0.0.1';
  encrypted = false;
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  /** In-memory connections never go idle-dead, so socket timeouts are not armed. */
  setTimeout(_ms: number, _cb?: () => void): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.peer.push(chunk);
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.peer.push(null);
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    cb(err);
  }
}

/** Two connected in-memory sockets: what one writes, the other reads. */
export function socketPair(): [Duplex, Duplex] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export function inProcessUser(socket: unknown): UserInfo | undefined {
  return (socket as { [IN_PROCESS_USER]?: UserInfo })[IN_PROCESS_USER];
}

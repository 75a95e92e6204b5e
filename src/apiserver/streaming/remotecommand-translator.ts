// exec and attach for WebSocket clients speaking v5.channel.k8s.io (kubectl 1.30+,
// @kubernetes/client-node), translated to SPDY towards the kubelet, as upstream's API server
// StreamTranslator does: the container runtime behind the kubelet (containerd 1.6) speaks
// remote command over SPDY (v4) and the older WebSocket protocols, not v5.
//
// WebSocket v5 (client side): every binary message is [channel, ...data]:
//   0 stdin, 1 stdout, 2 stderr, 3 error (a Status, once, at the end), 4 resize (JSON
//   {Width, Height}), 255 close (data [channel]: that channel is finished, i.e. stdin EOF).
// SPDY v4 (kubelet side): one stream per channel, named by its "streamType" header; stdin EOF
// is a FIN on the stdin stream; the error stream carries the Status (v4 writes it as JSON).
//
// As upstream: the WebSocket is upgraded first and an empty message on the lowest writable
// channel tells the client so; failures to reach the kubelet become a Status on the error
// channel; at the end the Status goes on channel 3, then a close frame, and the client closes.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { dialUpgrade, type UpgradeDial, type UpgradeTarget } from '../../kubelet/server/upgrade-proxy.js';
import { ApiError } from '../errors.js';
import { SPDY_31, SPDY_REMOTECOMMAND_V4, WEBSOCKET_V5 } from './protocols.js';
import { SpdyClientSession, type SpdyStream } from './spdy/session.js';

export const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

/** The streams the client asked for (the request's stdin, stdout, stderr and tty flags). */
export interface RemoteCommandStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface TranslateOptions {
  /** Called once the session is over and both connections are closing. */
  onClose?: () => void;
}

const SUCCESS = Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
/** Above this many bytes queued towards the client, reading from the kubelet pauses. */
const HIGH_WATER = 1 << 20;

/** Counts of translated sessions, for tests and diagnostics. */
export const remoteCommandTranslations = { started: 0 };

/**
 * Upgrades req (a WebSocket request offering v5.channel.k8s.io) and runs the session against
 * target, the kubelet's exec/attach URL with its stream flags already in the query.
 */
export function translateRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget, streams: RemoteCommandStreams, opts: TranslateOptions = {}): void {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => (offered.has(WEBSOCKET_V5) ? WEBSOCKET_V5 : false),
  });
  wss.handleUpgrade(req, socket, head, (ws) => {
    remoteCommandTranslations.started++;
    new Translation(ws, target, streams, opts).start();
  });
}

class Translation {
  private session?: SpdyClientSession;
  private upstream?: Duplex;
  private stdin?: SpdyStream;
  private resize?: SpdyStream;
  private errorStream?: SpdyStream;
  private outputs: SpdyStream[] = [];
  private errorData: Buffer[] = [];
  /** Client messages that arrived before the kubelet's streams were open. */
  private early: Buffer[] | undefined = [];
  private finished = false;
  private upstreamPaused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly target: UpgradeTarget,
    private readonly streams: RemoteCommandStreams,
    private readonly opts: TranslateOptions,
  ) {}

  start(): void {
    const { ws, streams } = this;
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: RawData) => this.fromClient(toBuffer(data)));
    ws.on('close', () => this.clientGone());
    const first = streams.stdout ? Channel.STDOUT : streams.stderr && !streams.tty ? Channel.STDERR : Channel.ERROR;
    ws.send(Buffer.of(first));
    const url = this.target.url;
    const headers = ['Host', url.host, 'Connection', 'Upgrade', 'Upgrade', SPDY_31, 'X-Stream-Protocol-Version', SPDY_REMOTECOMMAND_V4, 'Content-Length', '0'];
    dialUpgrade(this.target, 'POST', headers).then(
      (r) => this.connected(r),
      (e: Error) => this.finish(internal(`error dialing backend: ${e.message}`)),
    );
  }

  private connected(r: UpgradeDial): void {
    if (!r.upgraded) return this.finish(upgradeFailure(r.body));
    if (this.finished) {
      r.socket.destroy();
      return;
    }
    const proto = String(r.res.headers['x-stream-protocol-version'] ?? '');
    if (proto !== SPDY_REMOTECOMMAND_V4) {
      r.socket.destroy();
      return this.finish(internal(`unable to upgrade connection: the kubelet chose stream protocol "${proto}", not ${SPDY_REMOTECOMMAND_V4}`));
    }
    this.upstream = r.socket;
    const session = (this.session = new SpdyClientSession(r.socket, r.head));
    session.on('close', () => this.finish());
    session.on('drain', () => this.ws.resume());
    const { streams } = this;
    this.errorStream = session.open({ streamtype: 'error' });
    this.errorStream.onData = (d) => this.errorData.push(Buffer.from(d));
    this.errorStream.onEnd = () => this.maybeDone();
    if (streams.stdin) this.stdin = session.open({ streamtype: 'stdin' });
    if (streams.stdout) this.output(session.open({ streamtype: 'stdout' }), Channel.STDOUT);
    if (streams.stderr && !streams.tty) this.output(session.open({ streamtype: 'stderr' }), Channel.STDERR);
    if (streams.tty) this.resize = session.open({ streamtype: 'resize' });
    const early = this.early ?? [];
    this.early = undefined;
    for (const m of early) this.fromClient(m);
  }

  private output(stream: SpdyStream, channel: number): void {
    this.outputs.push(stream);
    stream.onData = (d) => this.toClient(channel, d);
    stream.onEnd = () => this.maybeDone();
  }

  private toClient(channel: number, data: Buffer): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    const msg = Buffer.allocUnsafe(data.length + 1);
    msg[0] = channel;
    data.copy(msg, 1);
    ws.send(msg, () => {
      if (this.upstreamPaused && ws.bufferedAmount < HIGH_WATER / 2) {
        this.upstreamPaused = false;
        this.upstream?.resume();
      }
    });
    if (!this.upstreamPaused && ws.bufferedAmount > HIGH_WATER) {
      this.upstreamPaused = true;
      this.upstream?.pause();
    }
  }

  private fromClient(msg: Buffer): void {
    if (this.finished || !msg.length) return;
    if (this.early) {
      this.early.push(msg);
      return;
    }
    const data = msg.subarray(1);
    switch (msg[0]) {
      case Channel.STDIN:
        if (this.stdin && !this.stdin.write(data)) this.ws.pause();
        break;
      case Channel.RESIZE:
        this.resize?.write(data);
        break;
      case Channel.CLOSE:
        if (data[0] === Channel.STDIN) this.stdin?.end();
        break;
      default:
        break;
    }
  }

  /** The kubelet is done once the error stream and every output stream have ended. */
  private maybeDone(): void {
    if (this.errorStream?.ended && this.outputs.every((s) => s.ended)) this.finish();
  }

  /** Ends the session: the status (given, else the kubelet's, else Success) and a close frame. */
  private finish(status?: Buffer): void {
    if (this.finished) return;
    this.finished = true;
    this.early = undefined;
    this.session?.close();
    this.upstream?.resume();
    const { ws } = this;
    if (ws.readyState === ws.OPEN) {
      const body = status ?? (this.errorData.length ? Buffer.concat(this.errorData) : SUCCESS);
      ws.send(Buffer.concat([Buffer.of(Channel.ERROR), body]));
      ws.close(1000);
    }
    this.opts.onClose?.();
  }

  private clientGone(): void {
    if (this.finished) return;
    this.finished = true;
    this.session?.close();
    this.upstream?.resume();
    this.opts.onClose?.();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function internal(message: string): Buffer {
  const err = new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
  return Buffer.from(JSON.stringify(err.toStatus()));
}

/** A refused upgrade as client-go's SPDY dialer reports it: the Status it sent, else its text. */
function upgradeFailure(body: Buffer): Buffer {
  try {
    const obj = JSON.parse(body.toString('utf8'));
    if (obj && typeof obj === 'object' && obj.kind === 'Status') return body;
  } catch {
    // not JSON: a plain-text error from the kubelet or the runtime
  }
  return internal(`unable to upgrade connection: ${body.toString('utf8').trim()}`);
}

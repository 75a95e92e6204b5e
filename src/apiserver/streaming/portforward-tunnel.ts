// port-forward for WebSocket clients that tunnel SPDY (kubectl 1.31+: subprotocol
// "SPDY/3.1+portforward.k8s.io"), as upstream's API server TunnelingHandler does: the
// request goes to the kubelet as a SPDY upgrade (POST, Upgrade: SPDY/3.1, the offered
// protocols without the prefix as X-Stream-Protocol-Version); on 101 the client's WebSocket
// is upgraded with the kubelet's choice put back under the prefix, and from then on the SPDY
// connection's bytes travel inside binary WebSocket messages, untouched. Any other answer of
// the kubelet is relayed to the client as is (kubectl then falls back to plain SPDY).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';
import { dialUpgrade, forwardHeaders, relayResponse, writeRawResponse, type UpgradeTarget } from '../../kubelet/server/upgrade-proxy.js';
import { SPDY_31, SPDY_TUNNEL_PREFIX, tunneledSpdyProtocols } from './protocols.js';

export interface TunnelOptions {
  /** The response written when the kubelet cannot be reached. */
  onError?: (err: Error) => { status: number; contentType: string; body: string };
  /** Called once both connections are closed (or the request failed). */
  onClose?: () => void;
}

/** Above this many bytes queued towards the client, reading from the kubelet pauses. */
const HIGH_WATER = 1 << 20;

/** Counts of tunnelled sessions, for tests and diagnostics. */
export const portForwardTunnels = { started: 0 };

const WS_HEADERS = ['sec-websocket-protocol', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'upgrade', 'connection', 'x-stream-protocol-version', 'content-length', 'transfer-encoding'];

/** Serves req (a WebSocket request offering SPDY/3.1+*.k8s.io) by tunnelling SPDY to target. */
export function tunnelPortForward(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget, opts: TunnelOptions = {}): void {
  const protocols = tunneledSpdyProtocols(req);
  if (!protocols.length) {
    writeRawResponse(socket, 400, { 'Content-Type': 'text/plain; charset=utf-8' }, 'unable to upgrade: no tunneling spdy protocols provided\n');
    opts.onClose?.();
    return;
  }
  const headers = forwardHeaders(req, target.url.host, WS_HEADERS);
  headers.push('Connection', 'Upgrade', 'Upgrade', SPDY_31, 'Content-Length', '0');
  for (const p of protocols) headers.push('X-Stream-Protocol-Version', p);
  // The client may start sending once upgraded; nothing it sends before that is meaningful.
  dialUpgrade(target, 'POST', headers).then(
    (r) => {
      if (!r.upgraded) {
        relayResponse(socket, r.res, r.body);
        opts.onClose?.();
        return;
      }
      const chosen = String(r.res.headers['x-stream-protocol-version'] ?? '').trim();
      if (!String(r.res.headers.upgrade ?? '').toLowerCase().includes(SPDY_31.toLowerCase())) {
        r.socket.destroy();
        writeRawResponse(socket, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, 'unable to upgrade: missing upgrade headers in response\n');
        opts.onClose?.();
        return;
      }
      // "SPDY/3.1+portforward.k8s.io" is not an RFC 7230 token ('/' is a separator), so ws
      // would refuse the header: it is taken off the request and the answer added here.
      const answer = chosen && protocols.includes(chosen) ? SPDY_TUNNEL_PREFIX + chosen : undefined;
      delete req.headers['sec-websocket-protocol'];
      const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
      if (answer) wss.on('headers', (lines: string[]) => lines.push(`Sec-WebSocket-Protocol: ${answer}`));
      const upstream = r.socket;
      upstream.on('error', () => upstream.destroy());
      if (socket.destroyed) {
        upstream.destroy();
        opts.onClose?.();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        portForwardTunnels.started++;
        let paused = false;
        let closed = 0;
        const done = () => {
          if (++closed === 2) opts.onClose?.();
        };
        const send = (d: Buffer) => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(d, { binary: true }, () => {
            if (paused && ws.bufferedAmount < HIGH_WATER / 2) {
              paused = false;
              upstream.resume();
            }
          });
          if (!paused && ws.bufferedAmount > HIGH_WATER) {
            paused = true;
            upstream.pause();
          }
        };
        if (r.head.length) send(r.head);
        upstream.on('data', send);
        upstream.on('end', () => ws.close(1000));
        upstream.on('close', () => {
          if (ws.readyState === ws.OPEN) ws.close(1000);
          done();
        });
        ws.on('message', (data: RawData, isBinary: boolean) => {
          if (!isBinary) return ws.close(1003, 'invalid message type received');
          const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
          if (!upstream.write(buf)) ws.pause();
        });
        upstream.on('drain', () => ws.resume());
        ws.on('error', () => ws.terminate());
        ws.on('close', () => {
          upstream.end();
          setTimeout(() => upstream.destroy(), 5000).unref();
          done();
        });
      });
    },
    (e: Error) => {
      const r = opts.onError?.(e) ?? { status: 502, contentType: 'text/plain; charset=utf-8', body: `error dialing backend: ${e.message}` };
      writeRawResponse(socket, r.status, { 'Content-Type': r.contentType }, r.body);
      opts.onClose?.();
    },
  );
}

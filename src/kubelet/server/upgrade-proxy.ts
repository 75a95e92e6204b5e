// Reverse proxying of HTTP Upgrade requests (SPDY/3.1 and WebSocket streams for exec, attach
// and port-forward): the client's request goes upstream with its protocol headers intact
// (every X-Stream-Protocol-Version and Sec-WebSocket-Protocol line kept separate, as Go's
// servers read them as lists), and on 101 the two connections are spliced byte for byte, so
// the stream protocol is spoken end to end by the client and the server that answered.
// A non-101 answer (e.g. a WebSocket subprotocol the runtime does not speak, which makes
// kubectl fall back to SPDY) is relayed to the client as is. Used by the kubelet towards the
// runtime's streaming server and by the API server towards the kubelet. dialUpgrade is the
// client half alone, for the API server's WebSocket-to-SPDY translation (src/apiserver/streaming).
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export interface UpgradeTarget {
  url: URL;
  /** For https targets: CA to verify the server with, and a client certificate. */
  tls?: { ca?: string; cert?: string; key?: string; servername?: string };
}

export interface UpgradeProxyOptions {
  /** Request headers not to pass on (lower case); Host and Authorization are never passed. */
  dropHeaders?: string[];
  /** The response written when the upstream cannot be reached (default: 502 text). */
  onError?: (err: Error) => RawResponse;
  /** Called once both connections are closed. */
  onClose?: () => void;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: string | Buffer;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'proxy-connection', 'content-length']);
const MAX_ERROR_BODY = 1 << 20;

/** The client's request headers for upstream, as a raw [name, value, ...] list. */
export function forwardHeaders(req: IncomingMessage, host: string, drop: string[] = []): string[] {
  const skip = new Set(['host', 'authorization', ...drop]);
  const out: string[] = ['Host', host];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!skip.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** Proxies an upgrade request that arrived on socket (Node's 'upgrade' event) to target. */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget, opts: UpgradeProxyOptions = {}): void {
  const { url } = target;
  const isHttps = url.protocol === 'https:';
  const lib = isHttps ? https : http;
  const out = lib.request({
    host: url.hostname,
    port: url.port || (isHttps ? 443 : 80),
    method: req.method,
    path: url.pathname + url.search,
    headers: forwardHeaders(req, url.host, opts.dropHeaders) as unknown as http.OutgoingHttpHeaders,
    agent: false,
    ...(isHttps ? { ca: target.tls?.ca, cert: target.tls?.cert, key: target.tls?.key, servername: target.tls?.servername } : {}),
  });
  let settled = false;
  const fail = (err: Error) => {
    if (settled) return;
    settled = true;
    const r = opts.onError?.(err) ?? { status: 502, contentType: 'text/plain; charset=utf-8', body: `error dialing backend: ${err.message}` };
    writeRawResponse(socket, r.status, { 'Content-Type': r.contentType }, r.body);
    opts.onClose?.();
  };
  socket.on('error', () => out.destroy());
  out.on('error', fail);
  out.on('upgrade', (res, upstream, upHead) => {
    settled = true;
    (socket as Socket).setTimeout?.(0);
    (socket as Socket).setNoDelay?.(true);
    upstream.setNoDelay(true);
    socket.write(statusLine(res) + headerLines(res.rawHeaders, false) + '\r\n');
    if (upHead.length) socket.write(upHead);
    if (head.length) upstream.write(head);
    splice(socket, upstream, opts.onClose);
  });
  out.on('response', (res) => {
    if (settled) return res.resume();
    settled = true;
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (d: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(d);
      size += d.length;
    });
    res.on('error', () => socket.destroy());
    res.on('end', () => {
      const body = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY);
      socket.write(statusLine(res) + headerLines(res.rawHeaders, true) + `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      socket.end(body);
      opts.onClose?.();
    });
  });
  out.end();
}

/** What an Upgrade request got: the upgraded connection, or an ordinary (error) response. */
export type UpgradeDial =
  | { upgraded: true; res: IncomingMessage; socket: Socket; head: Buffer }
  | { upgraded: false; res: IncomingMessage; body: Buffer };

/**
 * Sends an Upgrade request (headers as a raw [name, value, ...] list, so repeated names stay
 * separate lines) and resolves with the upgraded socket on 101, else with the response and
 * its body (up to 1 MiB). Rejects when the server cannot be reached.
 */
export function dialUpgrade(target: UpgradeTarget, method: string, headers: string[]): Promise<UpgradeDial> {
  const { url } = target;
  const isHttps = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const out = (isHttps ? https : http).request({
      host: url.hostname,
      port: url.port || (isHttps ? 443 : 80),
      method,
      path: url.pathname + url.search,
      headers: headers as unknown as http.OutgoingHttpHeaders,
      agent: false,
      ...(isHttps ? { ca: target.tls?.ca, cert: target.tls?.cert, key: target.tls?.key, servername: target.tls?.servername } : {}),
    });
    out.on('error', reject);
    out.on('upgrade', (res, socket, head) => {
      socket.setNoDelay(true);
      resolve({ upgraded: true, res, socket, head });
    });
    out.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (size < MAX_ERROR_BODY) chunks.push(d);
        size += d.length;
      });
      res.on('error', reject);
      res.on('end', () => resolve({ upgraded: false, res, body: Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY) }));
    });
    out.end();
  });
}

/** Relays a non-101 answer to the client on its raw socket, as proxyUpgrade does, and closes it. */
export function relayResponse(socket: Duplex, res: IncomingMessage, body: Buffer): void {
  if (socket.destroyed) return;
  socket.write(statusLine(res) + headerLines(res.rawHeaders, true) + `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  socket.end(body);
}

/** Copies both ways until either side closes, then closes the other. */
export function splice(a: Duplex, b: Duplex, onClose?: () => void): void {
  let closed = 0;
  const done = () => {
    if (++closed === 2) onClose?.();
  };
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => {
    b.destroy();
    done();
  });
  b.on('close', () => {
    a.destroy();
    done();
  });
}

/** Writes a complete HTTP/1.1 response on a raw (upgrade) socket and closes it. */
export function writeRawResponse(socket: Duplex, status: number, headers: Record<string, string>, body: string | Buffer): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  let headText = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(headers)) headText += `${k}: ${v}\r\n`;
  headText += `Content-Length: ${buf.length}\r\nConnection: close\r\n\r\n`;
  if (socket.destroyed) return;
  socket.write(headText);
  socket.end(buf);
}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode} ${res.statusMessage || http.STATUS_CODES[res.statusCode ?? 500] || ''}\r\n`;
}

function headerLines(raw: string[], dropHopByHop: boolean): string {
  let s = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (dropHopByHop && HOP_BY_HOP.has(raw[i].toLowerCase())) continue;
    s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return s;
}

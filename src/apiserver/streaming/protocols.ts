// Which streaming protocol an Upgrade request asks for, as the API server decides whether to
// translate it (upstream: wsstream.IsWebSocketRequestWithStreamCloseProtocol and
// IsWebSocketRequestWithTunnelingProtocol) or pass it through to the kubelet unchanged.
import type { IncomingMessage } from 'node:http';

/** Remote command over WebSocket with the stream-close channel (255): exec, attach, cp. */
export const WEBSOCKET_V5 = 'v5.channel.k8s.io';
/** The SPDY remote command protocol spoken to the kubelet when translating v5. */
export const SPDY_REMOTECOMMAND_V4 = 'v4.channel.k8s.io';
/** Prefix of the WebSocket subprotocols that carry a SPDY connection (port-forward). */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const SPDY_31 = 'SPDY/3.1';

/** The Sec-WebSocket-Protocol values of req, in the client's order. */
export function webSocketProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  if (!raw) return [];
  return (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
}

export function isWebSocketRequest(req: IncomingMessage): boolean {
  const conn = String(req.headers.connection ?? '').toLowerCase();
  return conn.split(',').some((t) => t.trim() === 'upgrade') && String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** A WebSocket request offering v5.channel.k8s.io: translated to SPDY towards the kubelet. */
export function wantsRemoteCommandV5(req: IncomingMessage): boolean {
  return isWebSocketRequest(req) && webSocketProtocols(req).includes(WEBSOCKET_V5);
}

/**
 * The SPDY protocols a tunneling WebSocket request offers ("SPDY/3.1+portforward.k8s.io" →
 * "portforward.k8s.io"); empty when it is not one.
 */
export function tunneledSpdyProtocols(req: IncomingMessage): string[] {
  if (!isWebSocketRequest(req)) return [];
  return webSocketProtocols(req)
    .filter((p) => p.startsWith(SPDY_TUNNEL_PREFIX) && p.endsWith('.k8s.io'))
    .map((p) => p.slice(SPDY_TUNNEL_PREFIX.length));
}

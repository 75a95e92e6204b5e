// The WebSocket v5 → SPDY translation and the port-forward tunnel against a fake kubelet
// (fake-kubelet.ts), with the `ws` client standing in for kubectl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { remoteCommandTranslations, translateRemoteCommand, type RemoteCommandStreams } from '../../../src/apiserver/streaming/remotecommand-translator.js';
import { portForwardTunnels, tunnelPortForward } from '../../../src/apiserver/streaming/portforward-tunnel.js';
import { tunneledSpdyProtocols, wantsRemoteCommandV5 } from '../../../src/apiserver/streaming/protocols.js';
import { startFakeKubelet, type FakeKubelet, type ServerConn } from './fake-kubelet.js';

const EXIT_3 = JSON.stringify({
  metadata: {},
  status: 'Failure',
  message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
  reason: 'NonZeroExitCode',
  details: { causes: [{ reason: 'ExitCode', message: '3' }] },
});

/** The kubelet's side of the sessions, chosen by the command query parameter. */
function session(c: ServerConn, url: URL): void {
  const cmd = url.searchParams.get('command');
  const want = ['error', 'stdin', 'stdout', 'stderr', 'resize'].filter((t) =>
    t === 'error' ? true : t === 'stdin' ? url.searchParams.has('input') : t === 'stdout' ? url.searchParams.has('output') : t === 'stderr' ? url.searchParams.has('error') && !url.searchParams.has('tty') : url.searchParams.has('tty'),
  );
  let ready = false;
  c.onStream = () => {
    if (ready || !want.every((t) => c.stream(t)?.replied)) return;
    ready = true;
    if (cmd === 'hello') {
      c.write('stdout', 'hello\n');
      c.write('stderr', 'warn\n');
      c.write('error', '', true);
      c.write('stdout', '', true);
      c.write('stderr', '', true);
      c.close();
    } else if (cmd === 'ping') {
      c.ping(2);
      setTimeout(() => {
        c.write('stdout', c.pongs.includes(2) ? 'pong\n' : 'no pong\n');
        c.close();
      }, 100);
    }
  };
  c.onData = (s, d) => {
    if (s.type === 'stdin' && cmd === 'upper') c.write('stdout', d.toString().toUpperCase());
    if (s.type === 'resize') c.write('stdout', `resize ${d}\n`);
  };
  c.onFin = (s) => {
    if (s.type === 'stdin' && cmd === 'upper') {
      c.write('stderr', 'stdin closed\n');
      c.write('error', EXIT_3);
      c.close();
    }
  };
}

interface WsResult {
  protocol: string;
  messages: Buffer[];
  closeCode: number;
}

describe('WebSocket v5 exec/attach translated to SPDY; port-forward tunnelled', () => {
  let kubelet: FakeKubelet;
  let front: http.Server;
  let frontPort = 0;
  const sockets = new Set<Socket>();

  before(async () => {
    kubelet = await startFakeKubelet(session, { replyDelayMs: 20 });
    front = http.createServer();
    front.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://front');
      const target = { url: new URL(`http://127.0.0.1:${url.searchParams.get('kport') ?? kubelet.port}${url.pathname.replace('/front', '')}?${url.searchParams}`) };
      if (url.pathname.includes('portForward')) {
        assert.ok(tunneledSpdyProtocols(req).length > 0);
        return tunnelPortForward(req, socket, head, target);
      }
      assert.ok(wantsRemoteCommandV5(req));
      const q = url.searchParams;
      const streams: RemoteCommandStreams = { stdin: q.has('input'), stdout: q.has('output'), stderr: q.has('error'), tty: q.has('tty') };
      translateRemoteCommand(req, socket, head, target, streams);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    frontPort = (front.address() as { port: number }).port;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => front.close(() => r()));
    await kubelet.close();
  });

  /** A v5 client: sends the given messages once open, collects everything until the close. */
  const run = (path: string, send: (ws: WebSocket) => void = () => undefined, protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io']): Promise<WsResult> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${frontPort}${path}`, protocols);
      const messages: Buffer[] = [];
      ws.on('open', () => send(ws));
      ws.on('message', (d: Buffer) => messages.push(d));
      ws.on('close', (code) => resolve({ protocol: ws.protocol, messages, closeCode: code }));
      ws.on('error', reject);
    });
  const channel = (r: WsResult, ch: number) => Buffer.concat(r.messages.filter((m) => m[0] === ch).map((m) => m.subarray(1))).toString();

  it('negotiates v5, announces itself on stdout, relays stdout/stderr, Success on channel 3 then close 1000', async () => {
    const before = remoteCommandTranslations.started;
    const r = await run('/front/exec/ns/pod/c?command=hello&output=1&error=1');
    assert.equal(r.protocol, 'v5.channel.k8s.io');
    assert.equal(remoteCommandTranslations.started, before + 1);
    assert.deepEqual([...r.messages[0]], [1], 'first an empty stdout message');
    assert.equal(channel(r, 1), 'hello\n');
    assert.equal(channel(r, 2), 'warn\n');
    assert.deepEqual(JSON.parse(channel(r, 3)), { metadata: {}, status: 'Success' });
    assert.equal(r.messages[r.messages.length - 1][0], 3, 'the status comes last');
    assert.equal(r.closeCode, 1000);
    const req = kubelet.requests[kubelet.requests.length - 1];
    assert.equal(req.method, 'POST');
    assert.equal(req.headers.upgrade, 'SPDY/3.1');
    assert.equal(req.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
    assert.equal(kubelet.conns[kubelet.conns.length - 1].dataBeforeReply, 0);
  });

  it('stdin is held until the stream is answered, and the close channel half-closes it (FIN)', async () => {
    const r = await run('/front/exec/ns/pod/c?command=upper&input=1&output=1&error=1', (ws) => {
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from('abc ')]));
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from('def')]));
      ws.send(Buffer.of(255, 0));
    });
    const conn = kubelet.conns[kubelet.conns.length - 1];
    assert.equal(conn.dataBeforeReply, 0, 'no DATA before SYN_REPLY');
    assert.equal(conn.stream('stdin')?.fin, true);
    assert.equal(channel(r, 1), 'ABC DEF');
    assert.equal(channel(r, 2), 'stdin closed\n');
    const st = JSON.parse(channel(r, 3));
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.equal(conn.goAwayReceived, true);
  });

  it('tty: no stderr stream, resize messages go to the resize stream', async () => {
    const r = await run('/front/exec/ns/pod/c?command=tty&input=1&output=1&tty=1', (ws) => {
      ws.send(Buffer.concat([Buffer.of(4), Buffer.from('{"Width":80,"Height":24}')]));
      setTimeout(() => ws.close(), 300);
    });
    const conn = kubelet.conns[kubelet.conns.length - 1];
    assert.equal(conn.stream('stderr'), undefined);
    assert.ok(conn.stream('resize'));
    assert.equal(channel(r, 1), 'resize {"Width":80,"Height":24}\n');
  });

  it("answers the kubelet's PINGs", async () => {
    const r = await run('/front/exec/ns/pod/c?command=ping&output=1');
    assert.equal(channel(r, 1), 'pong\n');
  });

  it('a refused upgrade becomes an InternalError Status on channel 3, as client-go words it', async () => {
    const r = await run('/front/refuse?output=1&error=1');
    assert.equal(r.protocol, 'v5.channel.k8s.io');
    const st = JSON.parse(channel(r, 3));
    assert.equal(st.status, 'Failure');
    assert.equal(st.code, 500);
    assert.equal(st.reason, 'InternalError');
    assert.equal(st.message, 'Internal error occurred: unable to upgrade connection: container not found ("web")');
    const forbidden = JSON.parse(channel(await run('/front/status403?output=1'), 3));
    assert.equal(forbidden.reason, 'Forbidden');
    assert.equal(forbidden.code, 403);
  });

  it('an unreachable kubelet is reported on channel 3', async () => {
    const r = await run('/front/exec/x?kport=1&output=1');
    const st = JSON.parse(channel(r, 3));
    assert.match(st.message, /^Internal error occurred: error dialing backend: .*ECONNREFUSED/);
  });

  it("port-forward: SPDY/3.1+portforward.k8s.io is answered with the kubelet's choice and bytes pass untouched", async () => {
    const payload = Buffer.alloc(200_000, 0xab);
    const before = portForwardTunnels.started;
    const c = await rawWebSocket(frontPort, '/front/portForward/ns/pod?port=80', 'SPDY/3.1+portforward.k8s.io');
    assert.equal(c.status, 101);
    assert.equal(portForwardTunnels.started, before + 1);
    assert.equal(c.headers['sec-websocket-protocol'], 'SPDY/3.1+portforward.k8s.io');
    c.send(payload.subarray(0, 1000));
    c.send(payload.subarray(1000));
    const got = await c.receive(payload.length);
    assert.ok(got.every((m) => m.opcode === 2), 'binary messages only');
    assert.ok(Buffer.concat(got.map((m) => m.data)).equals(payload));
    c.socket.destroy();
    const req = kubelet.requests[kubelet.requests.length - 1];
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['x-stream-protocol-version'], 'portforward.k8s.io');
    assert.equal(req.headers['sec-websocket-key'], undefined);
  });

  it('port-forward: a refused SPDY upgrade is relayed to the client as is', async () => {
    const c = await rawWebSocket(frontPort, '/front/refuse-portForward', 'SPDY/3.1+portforward.k8s.io');
    assert.equal(c.status, 400);
    c.socket.destroy();
  });
});

/**
 * A minimal WebSocket client: the `ws` client refuses subprotocols that are not RFC 7230
 * tokens, and "SPDY/3.1+portforward.k8s.io" (which Go's clients send) is not one.
 */
function rawWebSocket(port: number, path: string, protocol: string) {
  return new Promise<{
    status: number;
    headers: http.IncomingHttpHeaders;
    socket: Duplex;
    send(data: Buffer): void;
    receive(bytes: number): Promise<{ opcode: number; data: Buffer }[]>;
  }>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': protocol },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, socket: res.socket, send: () => undefined, receive: async () => [] });
    });
    req.on('upgrade', (res, socket, head) => {
      let buf = head;
      const frames: { opcode: number; data: Buffer }[] = [];
      let total = 0;
      let wake = () => undefined as void;
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (buf.length < 2) break;
          let len = buf[1] & 0x7f;
          let off = 2;
          if (len === 126) {
            if (buf.length < 4) break;
            len = buf.readUInt16BE(2);
            off = 4;
          } else if (len === 127) {
            if (buf.length < 10) break;
            len = Number(buf.readBigUInt64BE(2));
            off = 10;
          }
          if (buf.length < off + len) break;
          const opcode = buf[0] & 0x0f;
          frames.push({ opcode, data: buf.subarray(off, off + len) });
          if (opcode === 2 || opcode === 0) total += len;
          buf = buf.subarray(off + len);
        }
        wake();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        socket,
        send(data: Buffer) {
          const mask = randomBytes(4);
          const hdr = data.length < 126 ? Buffer.from([0x82, 0x80 | data.length]) : data.length < 65536 ? Buffer.from([0x82, 0x80 | 126, data.length >> 8, data.length & 0xff]) : Buffer.concat([Buffer.from([0x82, 0x80 | 127]), u64(data.length)]);
          const masked = Buffer.allocUnsafe(data.length);
          for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i & 3];
          socket.write(Buffer.concat([hdr, mask, masked]));
        },
        receive: (bytes: number) =>
          new Promise((r, j) => {
            const timer = setTimeout(() => j(new Error(`got ${total} of ${bytes} bytes`)), 5000);
            wake = () => {
              if (total >= bytes) {
                clearTimeout(timer);
                r(frames);
              }
            };
            wake();
          }),
      });
    });
    req.end();
  });
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// kubectl 1.32's default streaming protocols against `skiff server` with its agent (real
// containerd 1.6, which speaks only SPDY and WebSocket v1-v4): exec, attach and cp over
// WebSocket v5.channel.k8s.io, translated to SPDY by the API server; port-forward over
// WebSocket with SPDY tunnelled inside. kubectl's -v=8 log shows which protocol it used: the
// WebSocket handshake's 101 with the chosen subprotocol, and no fallback to SPDY. The SPDY
// path (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, KUBECTL_PORT_FORWARD_WEBSOCKETS=false) and
// @kubernetes/client-node's Exec (v5 too) are checked as well.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { TestServer } from '../helpers/cluster.js';
import { nodeE2eSkipReason, sleep, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';
const SPDY_ONLY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };

/**
 * What kubectl's -v=8 log says about the stream connection it made: client-go logs each
 * request's headers (Sec-Websocket-Protocol for a WebSocket dial, X-Stream-Protocol-Version
 * for SPDY), the response status, and a "fallback" line when the WebSocket dial failed and it
 * retried with SPDY.
 */
function protocolUsed(log: string): 'websocket' | 'spdy' | 'unknown' {
  const wsDial = /round_trippers\.go:\d+\]\s+Sec-Websocket-Protocol: /i.test(log);
  const spdyDial = /round_trippers\.go:\d+\]\s+X-Stream-Protocol-Version: /i.test(log);
  const fellBack = /fallback/i.test(log);
  const switched = /Response Status: 101 Switching Protocols/.test(log);
  if (wsDial && !spdyDial && !fellBack && switched) return 'websocket';
  if (spdyDial && !wsDial && switched) return 'spdy';
  return 'unknown';
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('kubectl 1.32 streaming over WebSocket (translated to SPDY for containerd)', { skip, timeout: 300_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;
  let dir: string;

  /** Runs kubectl at -v=8; the verbose log is in stderr. */
  const kv = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => s.kubectl(['-v=8', ...args], { ...opts, timeoutMs: 60_000 });
  /** stderr without kubectl's klog lines (what the command itself wrote there). */
  const plainStderr = (stderr: string) =>
    stderr
      .split('\n')
      .filter((l) => !/^[IWE]\d{4} /.test(l) && !/^\s/.test(l) && l !== '')
      .join('\n');

  /** A kubectl that keeps running (attach, port-forward); output collected. */
  const background = (args: string[], env: Record<string, string> = {}) => {
    const p = spawn('kubectl', ['-v=8', ...args], { env: { ...process.env, KUBECONFIG: s.kubeconfig, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    return {
      out: () => out,
      err: () => err,
      stop: () =>
        new Promise<void>((r) => {
          if (p.exitCode !== null || p.signalCode !== null) return r();
          p.once('exit', () => r());
          p.kill('SIGTERM');
        }),
    };
  };

  before(async () => {
    cluster = await startNodeCluster({ nodeName: 'skiff-e2e-node' });
    s = cluster.server;
    dir = mkdtempSync(join(tmpdir(), 'skiff-ws-stream-'));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image: IMAGE,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'mkdir -p /www && echo hello-over-ws > /www/index.html && exec httpd -f -p 8080 -h /www'],
            ports: [{ containerPort: 8080 }],
          },
          { name: 'ticker', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done'] },
        ],
      },
    };
    const r = await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await until('pod web running', async () => {
      const g = await s.kubectl(['get', 'pod', 'web', '-o', 'json']);
      if (g.code !== 0) return false;
      const p = JSON.parse(g.stdout);
      return p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.state?.running);
    }, 90_000, 250);
  });

  after(async () => {
    const report = await cluster?.cleanup();
    if (report?.errors.length) console.log(`cleanup: ${report.errors.join('; ')}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl exec -- echo hi: WebSocket v5, no SPDY fallback', async () => {
    const r = await kv(['exec', 'web', '-c', 'web', '--', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(protocolUsed(r.stderr), 'websocket', r.stderr);
    assert.match(r.stderr, /Sec-Websocket-Protocol: v5\.channel\.k8s\.io/i);
  });

  it('kubectl exec -i -- cat: stdin piped through, EOF ends the command', async () => {
    const input = 'first line\nsecond line\n' + 'z'.repeat(70_000) + '\n';
    const r = await kv(['exec', '-i', 'web', '-c', 'web', '--', 'cat'], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, input);
    assert.equal(protocolUsed(r.stderr), 'websocket', r.stderr);
    // Stdin closed before the command writes anything.
    const wc = await kv(['exec', '-i', 'web', '-c', 'web', '--', 'wc', '-c'], { input: 'abc' });
    assert.equal(wc.code, 0, wc.stderr);
    assert.equal(wc.stdout.trim(), '3');
  });

  it('exit codes and stderr come back over WebSocket', async () => {
    const r = await kv(['exec', 'web', '-c', 'web', '--', 'sh', '-c', 'echo to-err >&2; echo to-out; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'to-out\n');
    assert.match(plainStderr(r.stderr), /^to-err$/m);
    assert.match(r.stderr, /command terminated with exit code 3/);
    assert.equal(protocolUsed(r.stderr), 'websocket', r.stderr);
    const missing = await kv(['exec', 'web', '-c', 'web', '--', 'no-such-binary']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no-such-binary/);
  });

  it('kubectl exec errors before the upgrade keep their message', async () => {
    const r = await s.kubectl(['exec', 'web', '-c', 'nope', '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container nope is not valid for pod web/);
  });

  it('kubectl exec -it: a TTY, its size sent on the resize channel', async () => {
    // script(1) gives kubectl a terminal of a known size. The size reaches the container's
    // terminal concurrently with the command's start (as with SPDY), hence the pause.
    const cmd = "stty cols 101 rows 31; kubectl -v=8 exec -it web -c web -- sh -c 'sleep 1; stty size; tty; exit 4'";
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, KUBECONFIG: s.kubeconfig } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    assert.match(r.out, /^31 101\r?$/m, r.out);
    assert.match(r.out, /^\/dev\/pts\/\d+\r?$/m, r.out);
    assert.equal(protocolUsed(r.out), 'websocket', r.out);
    assert.equal(r.code, 4, r.out);
  });

  it('kubectl cp both ways over WebSocket', async () => {
    const src = join(dir, 'up.bin');
    const content = Buffer.concat([Buffer.from('head\n'), Buffer.alloc(300_000, 7), Buffer.from('\ntail\n')]);
    writeFileSync(src, content);
    const up = await kv(['cp', src, 'web:/tmp/up.bin', '-c', 'web']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(protocolUsed(up.stderr), 'websocket', up.stderr);
    assert.equal((await s.k('exec', 'web', '-c', 'web', '--', 'wc', '-c', '/tmp/up.bin')).trim(), `${content.length} /tmp/up.bin`);
    const back = join(dir, 'down.bin');
    const down = await kv(['cp', 'web:/tmp/up.bin', back, '-c', 'web']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(protocolUsed(down.stderr), 'websocket', down.stderr);
    assert.ok(readFileSync(back).equals(content), 'the file came back unchanged');
  });

  it('kubectl attach over WebSocket', async () => {
    const bg = background(['attach', 'web', '-c', 'ticker']);
    try {
      await until('attach output', () => /tick \d+\n[\s\S]*tick \d+\n/.test(bg.out()), 15_000);
      assert.equal(protocolUsed(bg.err()), 'websocket', bg.err());
    } finally {
      await bg.stop();
    }
  });

  it('kubectl port-forward tunnels SPDY through WebSocket', async () => {
    const bg = background(['port-forward', 'pod/web', ':8080']);
    try {
      const port = Number(await until('port-forward listening', () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(bg.out())?.[1], 20_000));
      for (let i = 0; i < 3; i++) assert.equal(await httpGet(port, '/'), 'hello-over-ws\n');
      assert.match(bg.err(), /Sec-Websocket-Protocol: SPDY\/3\.1\+portforward\.k8s\.io/i, bg.err());
      assert.equal(protocolUsed(bg.err()), 'websocket', bg.err());
    } finally {
      await bg.stop();
    }
  });

  it('SPDY still works when kubectl is told not to use WebSockets', async () => {
    const echo = await kv(['exec', 'web', '-c', 'web', '--', 'echo', 'hi'], { env: SPDY_ONLY });
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, 'hi\n');
    assert.equal(protocolUsed(echo.stderr), 'spdy', echo.stderr);
    const cat = await kv(['exec', '-i', 'web', '-c', 'web', '--', 'cat'], { input: 'via spdy\n', env: SPDY_ONLY });
    assert.equal(cat.stdout, 'via spdy\n', cat.stderr);
    const fail = await kv(['exec', 'web', '-c', 'web', '--', 'sh', '-c', 'exit 3'], { env: SPDY_ONLY });
    assert.equal(fail.code, 3);
    const bg = background(['port-forward', 'pod/web', ':8080'], SPDY_ONLY);
    try {
      const port = Number(await until('port-forward listening', () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(bg.out())?.[1], 20_000));
      assert.equal(await httpGet(port, '/'), 'hello-over-ws\n');
      assert.equal(protocolUsed(bg.err()), 'spdy', bg.err());
    } finally {
      await bg.stop();
    }
  });

  it('@kubernetes/client-node Exec negotiates v5 and half-closes stdin', async () => {
    const { KubeConfig, Exec } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    let protocol = '';
    const status = await new Promise<any>((resolve, reject) => {
      new Exec(kc)
        .exec('default', 'web', 'web', ['sh', '-c', 'cat; echo done'], out, null, Readable.from([Buffer.from('from client-node\n')]), false, (st) => resolve(st))
        .then((ws) => (protocol = ws.protocol), reject);
    });
    assert.equal(protocol, 'v5.channel.k8s.io');
    assert.equal(status.status, 'Success');
    await until('client-node output', () => text === 'from client-node\ndone\n', 5000, 20);
  });
});

// Restart semantics of the standalone `skiff proxy`. `skiff server` runs its proxy in-process
// with no flag to leave it out, so this file runs the node from parts: a server with
// --disable-agent (and --disable-dns: port 53 is not ours to take), `skiff agent
// --disable-kube-proxy` joined with the server's token (kubelet, containerd and the :10250
// server that `kubectl exec` needs), and `skiff proxy` as a process the test stops and starts. Established TCP
// connections through a ClusterIP, from the host and from a pod, outlive the proxy (conntrack
// keeps their NAT), the
// restarted proxy deletes the chains of a Service removed while it was down, and
// `skiff proxy --cleanup` removes every SKIFF- chain.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { acquireNodeLock, bridgesPresent, cleanupNodeCluster, DEFAULT_BRIDGE, nodeE2eSkipReason, SKIFF, stopChild, waitNodeReady } from '../helpers/node-cleanup.js';
import { fixture, waitUntil } from './util.js';

const skip = nodeE2eSkipReason();
const NODE = 'skiff-proxy-node';

interface Child {
  proc: ChildProcess;
  output(): string;
}

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, [SKIFF, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { proc, output: () => out };
}

function iptablesSave(): string {
  return spawnSync('sh', ['-c', 'iptables-save 2>/dev/null; iptables-legacy-save 2>/dev/null'], { encoding: 'utf8' }).stdout;
}

const skiffLines = () => iptablesSave().split('\n').filter((l) => l.includes('SKIFF-'));

/** The per-service chains (SVC, SEP, EXT, FW, XLB) named on rules commented with the service's name. */
function chainsOf(save: string, svc: string): Set<string> {
  const out = new Set<string>();
  for (const line of save.split('\n')) {
    if (!line.includes(`"${svc}:`)) continue;
    for (const m of line.matchAll(/SKIFF-(?:SVC|SEP|EXT|FW|XLB)-[A-Z0-9]+/g)) out.add(m[0]);
  }
  return out;
}

/** A line-echo client over one TCP connection. */
class EchoConn {
  private buf = '';
  private closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d) => (this.buf += d));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => undefined);
  }
  static open(host: string, port: number): Promise<EchoConn> {
    return new Promise((res, rej) => {
      const s = net.connect({ host, port, timeout: 5000 });
      s.once('connect', () => res(new EchoConn(s)));
      s.once('timeout', () => s.destroy(new Error(`connect ${host}:${port} timed out`)));
      s.once('error', rej);
    });
  }
  async roundTrip(line: string, timeoutMs = 5000): Promise<void> {
    assert.ok(!this.closed, `connection closed before sending ${line}`);
    this.sock.write(`${line}\n`);
    await waitUntil(() => this.buf.includes(`${line}\n`), `echo of ${line} (closed=${this.closed}, got ${JSON.stringify(this.buf)})`, timeoutMs, 20);
  }
  close(): void {
    this.sock.destroy();
  }
}

/** The same from inside the client pod: busybox nc through `kubectl exec -i`. */
class PodEchoConn {
  private out = '';
  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d) => (this.out += d));
    proc.stderr!.on('data', (d) => (this.out += d));
  }
  static open(kubeconfig: string, host: string, port: number): PodEchoConn {
    const proc = spawn('kubectl', ['exec', '-i', 'client', '--', 'nc', host, String(port)], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new PodEchoConn(proc);
  }
  async roundTrip(line: string, timeoutMs = 10_000): Promise<void> {
    assert.equal(this.proc.exitCode, null, `kubectl exec nc exited (${this.proc.exitCode}): ${this.out}`);
    this.proc.stdin!.write(`${line}\n`);
    await waitUntil(() => this.out.includes(`${line}\n`), `echo of ${line} through the pod (exit=${this.proc.exitCode}, got ${JSON.stringify(this.out)})`, timeoutMs, 20);
  }
  async close(): Promise<void> {
    await stopChild(this.proc, 5000);
  }
}

describe('skiff proxy restart and cleanup on a live node', { skip, timeout: 180_000 }, () => {
  let release: (() => Promise<void>) | undefined;
  let server: TestServer;
  let agent: Child;
  let proxy: Child;
  let agentDir: string;
  let echoIP: string;
  let doomedIP: string;

  const startProxyProcess = () =>
    startChild(['proxy', '--kubeconfig', server.kubeconfig, '--hostname-override', NODE, '--iptables-min-sync-period', '100ms']);

  before(async () => {
    release = await acquireNodeLock();
    const leftover = bridgesPresent([DEFAULT_BRIDGE]);
    if (leftover.length) throw new Error(`bridge ${DEFAULT_BRIDGE} exists before the test: a previous run did not clean up`);
    server = await startServer({ extraArgs: ['--disable-dns'] });
    agentDir = mkdtempSync(join(tmpdir(), 'skiff-test-agent-'));
    agent = startChild([
      'agent', '--server', server.url, '--token-file', join(server.dataDir, 'server', 'node-token'),
      '--data-dir', agentDir, '--node-name', NODE, '--disable-kube-proxy',
    ]);
    proxy = startProxyProcess();
    await waitNodeReady(server, NODE, 90_000).catch((e) => {
      throw new Error(`${(e as Error).message}\nagent:\n${agent.output()}`);
    });
    await server.k('apply', '-f', fixture('services/echo.yaml'), '-f', fixture('services/client.yaml'));
    await server.k('wait', '--for=condition=Ready', 'pod/echo', 'pod/client', '--timeout=90s');
    echoIP = (await server.k('get', 'svc', 'echo', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    doomedIP = (await server.k('get', 'svc', 'doomed', '-o', 'jsonpath={.spec.clusterIP}')).trim();
    await waitUntil(() => chainsOf(iptablesSave(), 'default/doomed').size > 0 && chainsOf(iptablesSave(), 'default/echo').size > 0, 'service chains', 15_000, 100);
  });

  after(async () => {
    if (!server) {
      await release?.();
      return;
    }
    try {
      const report = await cleanupNodeCluster(server, { agents: [agent?.proc, proxy?.proc].filter((p): p is ChildProcess => !!p), extraDataDirs: [agentDir] });
      assert.deepEqual(report.errors, [], 'cleanup errors');
      assert.deepEqual(report.podsLeft, [], 'pods still there after the cleanup wait');
      assert.deepEqual(skiffLines(), [], 'SKIFF- rules left after cleanup');
    } finally {
      await release?.();
    }
  });

  test('established connections (host and pod) survive a proxy restart; chains of services deleted meanwhile are removed', async () => {
    const conn = await EchoConn.open(echoIP, 7000);
    const podConn = PodEchoConn.open(server.kubeconfig, echoIP, 7000);
    try {
      await conn.roundTrip('before');
      await podConn.roundTrip('pod-before');
      const doomedChains = chainsOf(iptablesSave(), 'default/doomed');
      const echoChains = chainsOf(iptablesSave(), 'default/echo');
      assert.ok(doomedChains.size >= 2, `doomed chains: ${[...doomedChains]}`);

      // Stop the proxy: like kube-proxy it leaves its rules, so traffic keeps flowing.
      await stopChild(proxy.proc, 10_000);
      assert.equal(proxy.proc.exitCode, 0, proxy.output());
      assert.ok(chainsOf(iptablesSave(), 'default/echo').size > 0, 'rules stay when the proxy stops');
      await conn.roundTrip('proxy-down');
      await podConn.roundTrip('pod-proxy-down');

      // A service deleted while no proxy watches.
      await server.k('delete', 'svc', 'doomed');

      proxy = startProxyProcess();
      await waitUntil(() => /first sync done/.test(proxy.output()), `restarted proxy's first sync (${proxy.output()})`, 20_000, 50);
      await conn.roundTrip('after-restart');
      await podConn.roundTrip('pod-after-restart');

      const save = iptablesSave();
      const stale = [...doomedChains].filter((ch) => save.includes(ch));
      assert.deepEqual(stale, [], 'chains of the deleted service are gone');
      assert.ok(!save.includes(`${doomedIP}/32`), `no rule mentions ${doomedIP}`);
      assert.deepEqual(chainsOf(save, 'default/echo'), echoChains, 'the live service keeps the same chains');

      // New connections work through the restarted proxy too.
      const fresh = await EchoConn.open(echoIP, 7000);
      try {
        await fresh.roundTrip('fresh');
      } finally {
        fresh.close();
      }
      await conn.roundTrip('still-open');
      await podConn.roundTrip('pod-still-open');
    } finally {
      conn.close();
      await podConn.close();
    }
  });

  test('skiff proxy --cleanup removes every SKIFF- chain and jump', async () => {
    await stopChild(proxy.proc, 10_000);
    assert.ok(skiffLines().length > 0, 'rules present before the cleanup');
    const r = spawnSync(process.execPath, [SKIFF, 'proxy', '--cleanup'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /removed \d+ chains and \d+ jump rules/);
    assert.deepEqual(skiffLines(), []);
    // Idempotent: a second run finds nothing.
    const again = spawnSync(process.execPath, [SKIFF, 'proxy', '--cleanup'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /removed 0 chains and 0 jump rules/);
  });
});

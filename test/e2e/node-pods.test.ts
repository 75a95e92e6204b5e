// The worker-node acceptance on one node: `skiff server` with its agent on this machine (a
// kubelet over skiff's containerd, the iptables proxy), driven by the real kubectl. Pods run
// busybox (skiff.local/busybox:latest, imported by the agent) on the bridge network.
// Slow steps (CrashLoopBackOff, configMap volume refresh) start in `before` and are checked
// later, so the whole file stays within a few minutes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrContains } from '../../src/kubelet/network/cni-config.js';
import { containerdPaths } from '../../src/kubelet/containerd/paths.js';
import type { TestServer } from '../helpers/cluster.js';
import { nodeE2eSkipReason, sleep, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';

export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get(url, { timeout: timeoutMs }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', rej);
  });
}

async function getJson(s: TestServer, ...args: string[]): Promise<any> {
  return JSON.parse(await s.k('get', ...args, '-o', 'json'));
}

async function apply(s: TestServer, manifest: object): Promise<void> {
  const r = await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

function podRunning(p: any): boolean {
  return p?.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.state?.running);
}

function busyboxPod(name: string, command: string[], extra: Record<string, any> = {}, podExtra: Record<string, any> = {}, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, ...labels } },
    spec: {
      terminationGracePeriodSeconds: 5,
      ...podExtra,
      containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command, ...extra }],
    },
  };
}

describe('worker node: pods on skiff server with its agent', { skip, timeout: 240_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;
  let podCIDR = '';
  let hostDir = '';
  let crashStarted = 0;
  let cmUpdate: Promise<number> | undefined;
  // restartCount of the crash pod as first seen, polled from the start (the backoff check needs every step).
  const crashSeen: Array<{ t: number; count: number }> = [];
  let crashPoll: NodeJS.Timeout | undefined;

  const waitRunning = (name: string, timeoutMs = 60_000) =>
    until(`pod ${name} Running`, async () => {
      const p = await getJson(s, 'pod', name);
      return podRunning(p) ? p : undefined;
    }, timeoutMs);

  before(async () => {
    cluster = await startNodeCluster({ nodeName: 'skiff-e2e-node' });
    s = cluster.server;
    hostDir = mkdtempSync(join(tmpdir(), 'skiff-node-e2e-host-'));
    podCIDR = (await s.k('get', 'node', cluster.nodeName, '-o', 'jsonpath={.spec.podCIDR}')).trim();
    // Long-running checks start now and are looked at later.
    crashStarted = Date.now();
    await apply(s, busyboxPod('crash', ['sh', '-c', 'echo crashing; exit 3'], {}, { restartPolicy: 'Always' }));
    const poll = async () => {
      const r = await s.kubectl(['get', 'pod', 'crash', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      const count = Number(r.stdout || 0);
      if (r.code === 0 && (!crashSeen.length || crashSeen[crashSeen.length - 1].count !== count)) crashSeen.push({ t: Date.now() - crashStarted, count });
      crashPoll = setTimeout(() => void poll(), 300);
    };
    void poll();
    await apply(s, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { greeting: 'hello' } });
    await apply(s, busyboxPod('cmpod', ['sleep', '3600'], { volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }, { volumes: [{ name: 'cfg', configMap: { name: 'cm' } }] }));
    cmUpdate = (async () => {
      await waitRunning('cmpod');
      const t0 = Date.now();
      await s.k('patch', 'configmap', 'cm', '--type=merge', '-p', '{"data":{"greeting":"updated"}}');
      await until('configMap update in the volume', async () => {
        const r = await s.kubectl(['exec', 'cmpod', '--', 'cat', '/cfg/greeting']);
        return r.code === 0 && r.stdout === 'updated';
      }, 120_000, 1000);
      return Date.now() - t0;
    })();
    cmUpdate.catch(() => undefined);
  });

  after(async () => {
    clearTimeout(crashPoll);
    if (!cluster) return;
    const report = await cluster.cleanup();
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
    if (report.errors.length || report.podsLeft.length || report.killed.length) {
      console.log('node cleanup report:', JSON.stringify(report));
    }
  });

  it('kubectl run: Running with an IP from the node podCIDR, served to the host', async () => {
    assert.match(podCIDR, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    await s.k('run', 'web', `--image=${IMAGE}`, '--image-pull-policy=IfNotPresent', '--', 'httpd', '-f', '-p', '8080', '-h', '/etc');
    const pod = await waitRunning('web');
    const ip = pod.status.podIP;
    assert.ok(cidrContains(podCIDR, ip), `pod IP ${ip} not in ${podCIDR}`);
    const r = await until('GET from the pod IP', () => httpGet(`http://${ip}:8080/hostname`).then((x) => x.status === 200 && x), 20_000);
    assert.equal(r.body.trim(), 'web');
    const wide = await s.k('get', 'pod', 'web', '-o', 'wide');
    assert.match(wide, new RegExp(`web\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+${cluster.nodeName}`));
  });

  it('kubectl logs: plain, --tail, --timestamps and -f', async () => {
    await apply(s, busyboxPod('logger', ['sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.3; done']));
    await waitRunning('logger');
    await until('a few log lines', async () => (await s.k('logs', 'logger')).split('\n').filter(Boolean).length >= 4, 20_000);
    const all = (await s.k('logs', 'logger')).split('\n').filter(Boolean);
    assert.equal(all[0], 'line 0');
    const tail = (await s.k('logs', 'logger', '--tail=2')).split('\n').filter(Boolean);
    assert.equal(tail.length, 2);
    assert.match(tail[1], /^line \d+$/);
    const ts = (await s.k('logs', 'logger', '--timestamps', '--tail=1')).trim();
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) line \d+$/);
    // -f: lines written after the start arrive on the open stream.
    const f = spawn('kubectl', ['logs', '-f', 'logger', '--tail=1'], { env: { ...process.env, KUBECONFIG: s.kubeconfig } });
    let out = '';
    f.stdout.on('data', (d) => (out += d));
    try {
      await until('followed lines', async () => out.split('\n').filter(Boolean).length >= 4, 15_000, 100);
    } finally {
      f.kill('SIGTERM');
    }
    const nums = out.split('\n').filter(Boolean).map((l) => Number(l.split(' ')[1]));
    for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1, `followed lines in order: ${out}`);
  });

  it('kubectl exec, cp both ways and port-forward', async () => {
    assert.equal((await s.k('exec', 'web', '--', 'hostname')).trim(), 'web');
    const local = join(hostDir, 'to-pod.txt');
    writeFileSync(local, 'from the host\n');
    await s.k('cp', local, 'web:/tmp/to-pod.txt');
    assert.equal(await s.k('exec', 'web', '--', 'cat', '/tmp/to-pod.txt'), 'from the host\n');
    await s.k('exec', 'web', '--', 'sh', '-c', 'echo from the pod > /tmp/from-pod.txt');
    const back = join(hostDir, 'from-pod.txt');
    await s.k('cp', 'web:/tmp/from-pod.txt', back);
    assert.equal(readFileSync(back, 'utf8'), 'from the pod\n');

    const pf = spawn('kubectl', ['port-forward', 'pod/web', ':8080'], { env: { ...process.env, KUBECONFIG: s.kubeconfig } });
    let out = '';
    pf.stdout.on('data', (d) => (out += d));
    pf.stderr.on('data', (d) => (out += d));
    try {
      const port = await until('port-forward listening', async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1], 20_000, 100);
      const r = await httpGet(`http://127.0.0.1:${port}/hostname`);
      assert.equal(r.status, 200);
      assert.equal(r.body.trim(), 'web');
      // A second connection over the same forward.
      assert.equal((await httpGet(`http://127.0.0.1:${port}/hostname`)).body.trim(), 'web');
    } finally {
      pf.kill('SIGTERM');
    }
  });

  it('a container that exits non-zero restarts with growing backoff: CrashLoopBackOff', async () => {
    const seen = crashSeen;
    let crashLoopColumn = false;
    await until('restartCount >= 3 and CrashLoopBackOff in STATUS', async () => {
      const count = seen[seen.length - 1]?.count ?? 0;
      const row = await s.k('get', 'pod', 'crash', '--no-headers');
      if (/\sCrashLoopBackOff\s/.test(row)) crashLoopColumn = true;
      return count >= 3 && crashLoopColumn;
    }, 120_000, 500);
    const p = await getJson(s, 'pod', 'crash');
    const cs = p.status.containerStatuses[0];
    assert.equal(cs.lastState?.terminated?.exitCode, 3);
    // Growing backoff: the gap before the third restart exceeds the gap before the second.
    clearTimeout(crashPoll);
    const at = (n: number) => seen.find((x) => x.count >= n)!.t;
    const gap2 = at(2) - at(1);
    const gap3 = at(3) - at(2);
    console.log(`crash loop restarts at ${seen.map((x) => `${x.count}@${x.t}ms`).join(', ')}`);
    assert.ok(gap3 > gap2, `backoff grows: ${gap2} ms then ${gap3} ms`);
    const ev = await s.k('get', 'events', '--field-selector', 'involvedObject.name=crash', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}');
    assert.match(ev, /BackOff/);
  });

  it('a failing liveness probe restarts the container', async () => {
    await apply(s, busyboxPod('live', ['sh', '-c', 'touch /tmp/alive; sleep 3600'], {
      livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 },
    }));
    await waitRunning('live');
    await s.k('exec', 'live', '--', 'rm', '/tmp/alive');
    await until('restartCount 1', async () => (await getJson(s, 'pod', 'live')).status?.containerStatuses?.[0]?.restartCount >= 1, 30_000, 500);
    const ev = await s.k('get', 'events', '--field-selector', 'involvedObject.name=live', '-o', 'jsonpath={range .items[*]}{.reason}{"|"}{.message}{"\\n"}{end}');
    assert.match(ev, /^Unhealthy\|Liveness probe failed/m);
    assert.match(ev, /^Killing\|/m);
    // The restarted container recreated /tmp/alive: it keeps running.
    await waitRunning('live', 30_000);
  });

  it('readiness gates the Service endpoints', async () => {
    await apply(s, busyboxPod('rdy', ['httpd', '-f', '-p', '8080', '-h', '/etc'], {
      readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 },
    }));
    await apply(s, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'rdy' }, spec: { selector: { app: 'rdy' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const pod = await waitRunning('rdy');
    const ip = pod.status.podIP;
    const readyIPs = async () => {
      const l = await getJson(s, 'endpointslices', '-l', 'kubernetes.io/service-name=rdy');
      return l.items.flatMap((es: any) => (es.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).flatMap((e: any) => e.addresses));
    };
    await sleep(3000);
    assert.equal((await getJson(s, 'pod', 'rdy')).status.containerStatuses[0].ready, false);
    assert.ok(!(await readyIPs()).includes(ip), 'not ready: not a ready endpoint');
    await s.k('exec', 'rdy', '--', 'touch', '/tmp/ready');
    await until('ready endpoint', async () => (await readyIPs()).includes(ip), 20_000);
    await s.k('exec', 'rdy', '--', 'rm', '/tmp/ready');
    await until('endpoint not ready again', async () => !(await readyIPs()).includes(ip), 20_000);
  });

  it('a configMap update reaches the mounted file', async () => {
    const ms = await cmUpdate!;
    console.log(`configMap volume update visible after ${ms} ms`);
    assert.ok(ms < 90_000, `update took ${ms} ms`);
  });

  it('kubectl delete pod runs preStop, stops within the grace period, and leaves nothing in containerd', async () => {
    const marker = join(hostDir, 'marker');
    await apply(s, busyboxPod('stopper', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'], {
      lifecycle: { preStop: { exec: { command: ['sh', '-c', 'date +%s > /marker/prestop; sleep 3'] } } },
      volumeMounts: [{ name: 'm', mountPath: '/marker' }],
    }, { terminationGracePeriodSeconds: 15, volumes: [{ name: 'm', hostPath: { path: marker, type: 'DirectoryOrCreate' } }] }));
    const pod = await waitRunning('stopper');
    const uid = pod.metadata.uid;
    const sock = containerdPaths(s.dataDir).socket;
    const ctr = (what: 'containers' | 'tasks') =>
      spawnSync('ctr', ['--address', sock, '-n', 'k8s.io', what, 'ls'], { encoding: 'utf8' }).stdout;
    const ids = (pod.status.containerStatuses as any[]).map((c) => c.containerID.replace(/^containerd:\/\//, ''));
    const sandboxIds = spawnSync('ctr', ['--address', sock, '-n', 'k8s.io', 'containers', 'ls', '-q', `labels."io.kubernetes.pod.uid"==${uid}`], { encoding: 'utf8' })
      .stdout.split('\n').filter(Boolean);
    assert.ok(sandboxIds.length >= 2, `containerd knows the pod's sandbox and container: ${sandboxIds}`);
    const t0 = Date.now();
    await s.k('delete', 'pod', 'stopper', '--wait=true');
    const took = Date.now() - t0;
    console.log(`delete with a 3 s preStop took ${took} ms`);
    assert.ok(existsSync(join(marker, 'prestop')), 'preStop wrote its marker');
    assert.ok(took >= 3000, `deletion waited for preStop (${took} ms)`);
    assert.ok(took < 15_000 + 3000, `deletion within terminationGracePeriodSeconds (${took} ms)`);
    const containers = ctr('containers');
    const tasks = ctr('tasks');
    for (const id of [...ids, ...sandboxIds]) {
      assert.ok(!containers.includes(id), `container ${id} left in containerd`);
      assert.ok(!tasks.includes(id), `task ${id} left in containerd`);
    }
  });
});

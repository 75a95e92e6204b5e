// The worker-node acceptance with many pods and a second node: a deployment of 20 replicas on
// the server's own node (all Running, pods reach each other by IP), then `skiff agent` on this
// same machine (own data dir, own containerd, node name, pod CIDR) joins as a second node and
// pods pinned to each node reach each other through the host.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrContains } from '../../src/kubelet/network/cni-config.js';
import type { TestServer } from '../helpers/cluster.js';
import { SKIFF, nodeE2eSkipReason, sleep, startNodeCluster, waitNodeReady, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';
const NODE2 = 'skiff-e2e-node2';
const BRIDGE2 = 'skiff1';

function httpGet(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = http.get(url, { timeout: 5000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => (r.statusCode === 200 ? res(body) : rej(new Error(`GET ${url}: ${r.statusCode}`))));
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

const running = (p: any) => p?.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.state?.running);

/** wget from inside a pod (busybox wget -T segfaults: bound it with timeout instead). */
async function podFetch(s: TestServer, pod: string, url: string): Promise<string> {
  return s.k('exec', pod, '--', 'timeout', '5', 'wget', '-qO-', url);
}

describe('worker node: 20 replicas and a second node', { skip, timeout: 240_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;
  let agent: ChildProcess | undefined;
  let agentDir = '';
  let agentLog = '';
  let hostDir = '';
  let cidr1 = '';
  let cidr2 = '';

  const pinned = (name: string, node: string, command: string[], volumes = false) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command, ...(volumes ? { volumeMounts: [{ name: 'out', mountPath: '/out' }] } : {}) }],
      ...(volumes ? { volumes: [{ name: 'out', hostPath: { path: hostDir, type: 'Directory' } }] } : {}),
    },
  });
  const waitPod = (name: string, timeoutMs = 60_000) => until(`${name} Running`, async () => {
    const p = await getJson(s, 'pod', name);
    return running(p) && p;
  }, timeoutMs).catch(async (e) => {
    const ev = await s.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    throw new Error(`${(e as Error).message}\nevents:\n${ev.stdout.slice(-2000)}\nagent output (tail):\n${agentLog.slice(-2000)}`);
  });

  before(async () => {
    cluster = await startNodeCluster({ nodeName: 'skiff-e2e-node' });
    s = cluster.server;
    hostDir = mkdtempSync(join(tmpdir(), 'skiff-node-e2e-host-'));
  });

  after(async () => {
    if (!cluster) return;
    const report = await cluster.cleanup({ agents: agent ? [agent] : [], extraDataDirs: agentDir ? [agentDir] : [], bridges: [BRIDGE2] });
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
    if (report.errors.length || report.podsLeft.length || report.killed.length) console.log('node cleanup report:', JSON.stringify(report));
  });

  it('a deployment of 20 replicas runs on one node and its pods reach each other by IP', async () => {
    const t0 = Date.now();
    await apply(s, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'many' },
      spec: {
        replicas: 20,
        selector: { matchLabels: { app: 'many' } },
        template: {
          metadata: { labels: { app: 'many' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'httpd', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['httpd', '-f', '-p', '8080', '-h', '/etc'] }],
          },
        },
      },
    });
    const pods = await until('20 pods Running', async () => {
      const l = await getJson(s, 'pods', '-l', 'app=many');
      return l.items.length === 20 && l.items.every(running) && l.items;
    }, 120_000);
    console.log(`20 replicas Running after ${Date.now() - t0} ms`);
    const podCIDR = (await s.k('get', 'node', cluster.nodeName, '-o', 'jsonpath={.spec.podCIDR}')).trim();
    const ips = new Set(pods.map((p: any) => p.status.podIP));
    assert.equal(ips.size, 20, 'distinct pod IPs');
    for (const ip of ips) assert.ok(cidrContains(podCIDR, ip as string), `${ip} in ${podCIDR}`);
    // Each of a few pods fetches from another's httpd.
    for (let i = 0; i < 4; i++) {
      const from = pods[i];
      const to = pods[19 - i];
      assert.equal((await podFetch(s, from.metadata.name, `http://${to.status.podIP}:8080/hostname`)).trim(), to.metadata.name);
    }
    await s.k('delete', 'deployment', 'many');
    await until('replicas gone', async () => (await getJson(s, 'pods', '-l', 'app=many')).items.length === 0, 60_000);
  });

  it('skiff agent joins as a second node with its own podCIDR', async () => {
    agentDir = mkdtempSync('/tmp/skiff-agent2-');
    const token = readFileSync(join(s.dataDir, 'server', 'token'), 'utf8').trim();
    agent = spawn(process.execPath, [SKIFF, 'agent', '--server', s.url, '--token', token, '--data-dir', agentDir, '--node-name', NODE2,
      // One proxy per host: the server's already programs this machine's SKIFF chains.
      '--kubelet-port', '0', '--disable-kube-proxy', '--bridge-name', BRIDGE2], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d) => (agentLog += d));
    agent.stderr!.on('data', (d) => (agentLog += d));
    try {
      await waitNodeReady(s, NODE2, 90_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nagent output:\n${agentLog}`);
    }
    cidr1 = (await s.k('get', 'node', cluster.nodeName, '-o', 'jsonpath={.spec.podCIDR}')).trim();
    cidr2 = (await s.k('get', 'node', NODE2, '-o', 'jsonpath={.spec.podCIDR}')).trim();
    assert.ok(cidr2 && cidr2 !== cidr1, `own pod CIDR: ${cidr1} vs ${cidr2}`);
  });

  it('pods start on the second node on its own bridge', async () => {
    assert.ok(agent, 'agent joined');
    await apply(s, pinned('on2', NODE2, ['httpd', '-f', '-p', '8080', '-h', '/etc']));
    try {
      await waitPod('on2', 15_000);
    } finally {
      await s.kubectl(['delete', 'pod', 'on2', '--wait=true'], { timeoutMs: 60_000 });
    }
  });

  it('pods on both nodes reach each other through the host (the agent runs its pods on skiff1)', async () => {
    assert.ok(agent, 'agent joined');
    await apply(s, pinned('on1', cluster.nodeName, ['httpd', '-f', '-p', '8080', '-h', '/etc']));
    await apply(s, pinned('on2b', NODE2, ['httpd', '-f', '-p', '8080', '-h', '/etc']));
    const p1 = await waitPod('on1');
    const p2 = await waitPod('on2b');
    assert.ok(cidrContains(cidr1, p1.status.podIP), `${p1.status.podIP} in ${cidr1}`);
    assert.ok(cidrContains(cidr2, p2.status.podIP), `${p2.status.podIP} in ${cidr2}`);
    assert.ok(existsSync(`/sys/class/net/${BRIDGE2}`), `${BRIDGE2} created`);
    // The host reaches both.
    assert.equal((await httpGet(`http://${p1.status.podIP}:8080/hostname`)).trim(), 'on1');
    assert.equal((await httpGet(`http://${p2.status.podIP}:8080/hostname`)).trim(), 'on2b');
    // Node 1 -> node 2, from inside a pod (exec through the server's kubelet).
    assert.equal((await podFetch(s, 'on1', `http://${p2.status.podIP}:8080/hostname`)).trim(), 'on2b');
    // Node 2 -> node 1: a pod on node 2 fetches and leaves the answer in a hostPath dir, so the
    // check does not depend on exec through node 2's kubelet.
    await apply(s, pinned('client2', NODE2, ['sh', '-c', `until timeout 5 wget -qO- http://${p1.status.podIP}:8080/hostname > /out/got.tmp; do sleep 1; done; mv /out/got.tmp /out/got; sleep 3600`], true));
    await until('the node-2 client fetched from node 1', async () => existsSync(join(hostDir, 'got')), 60_000);
    assert.equal(readFileSync(join(hostDir, 'got'), 'utf8').trim(), 'on1');
  });
});

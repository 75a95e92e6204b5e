// metrics.k8s.io end to end without containers: `skiff server` (API only, 1 s metric
// resolution) scrapes a kubelet HTTPS server (the real one from src/kubelet/server, over a fake
// runtime whose stats grow at known rates) found through the node's InternalIP and daemonEndpoints port,
// and the real kubectl reads it: discovery, top node/pod, get, errors, selectors,
// and the HPA controller's metrics source.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/client/index.js';
import { resourceMetricsFromApi } from '../../src/controllers/podautoscaler/metrics.js';
import { kubeletServingCert } from '../../src/kubelet/server/certs.js';
import { startKubeletServer, type KubeletServer, type StreamingRuntime } from '../../src/kubelet/server/server.js';
import type { ResourceStats } from '../../src/kubelet/stats/provider.js';
import { ensureServerPki } from '../../src/pki/index.js';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { until } from '../e2e/util.js';

const NODE = 'fake-node';
const T0 = Date.now();
/** Cores each thing burns, so rates are known. */
const NODE_CORES = 1.25;
const POD_CORES = 0.5;

function fakeStats(): ResourceStats {
  const now = Date.now();
  const cpu = (cores: number) => ({ timestampMs: now, usageCoreNanoSeconds: Math.round(10e9 + (now - T0) * cores * 1e6) });
  const pod = (name: string, cores: number, mem: number) => ({
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    startTimeMs: T0 - 60_000,
    cpu: cpu(cores),
    memory: { timestampMs: now, workingSetBytes: mem },
    containers: [{ name: 'c', startTimeMs: T0 - 60_000, cpu: cpu(cores), memory: { timestampMs: now, workingSetBytes: mem } }],
  });
  return {
    node: { cpu: cpu(NODE_CORES), memory: { timestampMs: now, workingSetBytes: 512 * 1024 * 1024 } },
    pods: [pod('burn', POD_CORES, 3 * 1024 * 1024), pod('idle', 0, 1024 * 1024)],
  };
}

const unsupported = async (): Promise<never> => {
  throw new Error('not in this test');
};
const fakeRuntime: StreamingRuntime = {
  listContainers: async () => [],
  listPodSandboxes: async () => [],
  containerStatus: async () => undefined as any,
  exec: unsupported,
  attach: unsupported,
  portForward: unsupported,
  stats: { resourceStats: async () => fakeStats() },
};

function pod(name: string, labels: Record<string, string>, nodeName?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
  };
}

/** "123m" / "1" / "250000n" -> millicores */
function milli(q: string): number {
  const m = /^(\d+)([nm]?)$/.exec(q)!;
  return m[2] === 'm' ? Number(m[1]) : m[2] === 'n' ? Number(m[1]) / 1e6 : Number(m[1]) * 1000;
}

describe('metrics.k8s.io served by skiff server from kubelet /metrics/resource', { timeout: 120_000 }, () => {
  let s: TestServer;
  let kubelet: KubeletServer;

  before(async () => {
    s = await startServer({ apiOnly: true, extraArgs: ['--metric-resolution', '1s'] });
    const pki = await ensureServerPki(s.dataDir);
    kubelet = await startKubeletServer({
      nodeName: NODE,
      runtime: fakeRuntime,
      tls: { ...(await kubeletServingCert(pki, NODE, [])), clientCaPem: pki.clientCaCertPem },
      port: 0,
      bindAddress: '127.0.0.1',
    });
  });

  after(async () => {
    await kubelet?.close();
    await s?.stop();
  });

  it('is discoverable: api-resources and the aggregated group list', async () => {
    const out = await s.k('api-resources', '--api-group=metrics.k8s.io', '--no-headers');
    const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['nodes', 'metrics.k8s.io/v1beta1', 'false', 'NodeMetrics'],
      ['pods', 'metrics.k8s.io/v1beta1', 'true', 'PodMetrics'],
    ]);
    const groups = JSON.parse(await s.k('get', '--raw', '/apis'));
    assert.deepEqual(groups.groups.find((g: any) => g.name === 'metrics.k8s.io')?.preferredVersion, { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' });
  });

  it('without metrics: upstream kubectl errors', async () => {
    let r = await s.kubectl(['top', 'node']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'error: metrics not available yet');
    // A young pod without metrics: kubectl says metrics are not ready.
    await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod('young', { app: 'young' })) });
    r = await s.kubectl(['top', 'pod']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'error: metrics not available yet');
    r = await s.kubectl(['top', 'pod', 'young']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error from server (NotFound): podmetrics.metrics.k8s.io "default/young" not found');
    r = await s.kubectl(['top', 'pod', 'nosuch']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error from server (NotFound): pods "nosuch" not found');
    const raw = await s.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nosuch']);
    assert.match(raw.stderr, /NotFound/);
    r = await s.kubectl(['top', 'node', 'nosuch']);
    assert.equal(r.stderr.trim(), 'Error from server (NotFound): node "nosuch" not found');
    await s.k('delete', 'pod', 'young', '--wait=false');
  });

  it('kubectl top node and top pod show scraped usage', async () => {
    await s.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: NODE, labels: { role: 'fake' } },
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
          capacity: { cpu: '4', memory: '2Gi', pods: '110' }, allocatable: { cpu: '4', memory: '2Gi', pods: '110' } },
      }),
    });
    for (const [name, app] of [['burn', 'burn'], ['idle', 'idle']]) await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod(name, { app }, NODE)) });

    const nodeLine = await until('top node', async () => {
      const r = await s.kubectl(['top', 'node', '--no-headers']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    const [name, cpu, cpuPct, mem, memPct] = nodeLine.split(/\s+/);
    assert.equal(name, NODE);
    assert.ok(Math.abs(milli(cpu) - NODE_CORES * 1000) < 100, `node CPU ${cpu}`);
    assert.match(cpuPct, /^3[01]%$/); // 1.25 of 4 allocatable cores
    assert.equal(mem, '512Mi');
    assert.equal(memPct, '25%');
    const header = (await s.k('top', 'node')).split('\n')[0];
    assert.match(header, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)/);

    const pods = await until('top pod', async () => {
      const r = await s.kubectl(['top', 'pod', '--no-headers']);
      return r.code === 0 && r.stdout.includes('burn') ? r.stdout.trim().split('\n').map((l) => l.split(/\s+/)) : undefined;
    });
    assert.deepEqual(pods.map((p) => p[0]), ['burn', 'idle']);
    assert.ok(Math.abs(milli(pods[0][1]) - POD_CORES * 1000) < 50, `pod CPU ${pods[0][1]}`);
    assert.equal(pods[0][2], '3Mi');
    assert.equal(pods[1][1], '0m');

    // Containers, selectors, all namespaces, a single pod.
    assert.match(await s.k('top', 'pod', 'burn', '--containers', '--no-headers'), /^burn\s+c\s+\d+m\s+3Mi/);
    assert.match(await s.k('top', 'pod', '-l', 'app=idle', '--no-headers'), /^idle\s/);
    const none = await s.kubectl(['top', 'pod', '-l', 'app=nothing']);
    assert.equal(none.code, 0);
    assert.equal(none.stderr.trim(), 'No resources found in default namespace.');
    assert.match(await s.k('top', 'pod', '-A', '--no-headers'), /^default\s+burn\s/);
    assert.match(await s.k('top', 'node', '-l', 'role=fake', '--no-headers'), new RegExp(`^${NODE}\\s`));
  });

  it('serves upstream-shaped objects, tables and errors', async () => {
    const pm = JSON.parse(await s.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn'));
    assert.equal(pm.kind, 'PodMetrics');
    assert.equal(pm.apiVersion, 'metrics.k8s.io/v1beta1');
    assert.deepEqual(pm.metadata.labels, { app: 'burn' });
    assert.equal(pm.metadata.namespace, 'default');
    assert.match(pm.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(pm.window, /^\d+(\.\d+)?m?s$/);
    assert.equal(pm.containers[0].name, 'c');
    assert.match(pm.containers[0].usage.cpu, /^\d+[nm]?$/);
    const nm = JSON.parse(await s.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes'));
    assert.equal(nm.kind, 'NodeMetricsList');
    assert.deepEqual(nm.items.map((i: any) => [i.kind, i.metadata.name, i.usage.memory]), [['NodeMetrics', NODE, '512Mi']]);
    const filtered = JSON.parse(await s.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.name%3Didle'));
    assert.deepEqual(filtered.items.map((i: any) => i.metadata.name), ['idle']);

    const table = await s.k('get', 'pods.metrics.k8s.io');
    assert.match(table.split('\n')[0], /^NAME\s+CPU\s+MEMORY\s+WINDOW/);
    assert.match(table, /\nburn\s+\d+[nm]?\s+3Mi\s+\S+/);

    const write = await s.kubectl(['delete', 'pods.metrics.k8s.io', 'burn']);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /MethodNotAllowed|not allow/);
  });

  it('feeds the HPA controller metrics source', async () => {
    const client = new Client({ kubeconfig: s.kubeconfig, component: 'metrics-test' });
    const usage = await resourceMetricsFromApi(client)('default', 'app=burn', 'cpu');
    const burn = usage.get('burn')!;
    assert.ok(Math.abs(burn.value - POD_CORES * 1000) < 50, `HPA sees ${burn.value}m`);
    assert.ok(burn.windowMs > 0 && burn.windowMs < 5000);
    await assert.rejects(resourceMetricsFromApi(client)('default', 'app=nothing', 'cpu'), /no metrics returned/);
  });
});

describe('skiff server --metric-resolution 0', { timeout: 60_000 }, () => {
  it('serves no metrics API, like a cluster without metrics-server', async () => {
    const s = await startServer({ apiOnly: true, extraArgs: ['--metric-resolution', '0'] });
    try {
      const r = await s.kubectl(['top', 'node']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), 'error: Metrics API not available');
      const raw = await s.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes']);
      assert.match(raw.stderr, /NotFound/);
    } finally {
      await s.stop();
    }
  });
});

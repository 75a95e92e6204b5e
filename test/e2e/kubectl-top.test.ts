// `kubectl top` on a real node: `skiff server` with its agent (kubelet over skiff's containerd)
// and a 2 s metric resolution; a busybox pod spins a CPU; the kubelet's /metrics/resource
// (read through nodes/proxy) carries its counters from the CRI, and kubectl top node / top pod
// show the node and the pod with non-zero CPU.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/cluster.js';
import { nodeE2eSkipReason, sleep, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';

/** "1250m" / "2" / "163219594n" -> millicores */
function milli(q: string): number {
  const m = /^(\d+)([nm]?)$/.exec(q);
  if (!m) return NaN;
  return m[2] === 'm' ? Number(m[1]) : m[2] === 'n' ? Number(m[1]) / 1e6 : Number(m[1]) * 1000;
}

describe('kubectl top on skiff server with its agent', { skip, timeout: 240_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;

  before(async () => {
    cluster = await startNodeCluster({ extraArgs: ['--metric-resolution', '2s'] });
    s = cluster.server;
  });

  after(async () => {
    if (!cluster) return;
    const report = await cluster.cleanup();
    if (report.errors.length || report.podsLeft.length) console.error('cleanup:', JSON.stringify(report));
  });

  it('top node before any scrape: metrics not available yet', async () => {
    // The first request to metrics.k8s.io starts the scraper; it needs two scrapes for a rate.
    const r = await s.kubectl(['top', 'node']);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stderr.trim(), 'error: metrics not available yet');
  });

  it('a CPU-burning pod shows up in the kubelet metrics and in kubectl top', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'burn', labels: { app: 'burn' } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'spin', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'while :; do :; done'] }],
      },
    };
    const ap = await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    assert.equal(ap.code, 0, ap.stderr);
    await s.k('wait', '--for=condition=Ready', 'pod/burn', '--timeout=90s');
    const readyAt = Date.now();

    // The kubelet's own endpoint, through the API server's nodes/proxy.
    const raw = await until(
      'the pod in /metrics/resource',
      async () => {
        const out = await s.k('get', '--raw', `/api/v1/nodes/${cluster.nodeName}/proxy/metrics/resource`);
        return out.includes('container_cpu_usage_seconds_total{container="spin",namespace="default",pod="burn"}') ? out : undefined;
      },
      30_000,
    );
    assert.match(raw, /^# HELP node_cpu_usage_seconds_total \[STABLE\] /m);
    assert.match(raw, /^node_cpu_usage_seconds_total [\d.e+]+ \d{13}$/m);
    assert.match(raw, /^node_memory_working_set_bytes [\d.e+]+ \d{13}$/m);
    const ws = /^container_memory_working_set_bytes\{container="spin",namespace="default",pod="burn"\} ([\d.e+]+) \d{13}$/m.exec(raw);
    assert.ok(ws && Number(ws[1]) > 0, `working set of the spinning container: ${ws?.[1]}`);
    assert.match(raw, /^pod_cpu_usage_seconds_total\{namespace="default",pod="burn"\} [\d.e+]+ \d{13}$/m);
    assert.match(raw, /^resource_scrape_error 0$/m);
    const summary = JSON.parse(await s.k('get', '--raw', `/api/v1/nodes/${cluster.nodeName}/proxy/stats/summary`));
    assert.equal(summary.node.nodeName, cluster.nodeName);
    assert.ok(summary.pods.some((p: any) => p.podRef.name === 'burn' && p.containers[0]?.cpu?.usageCoreNanoSeconds > 0));

    const nodeLine = await until(
      'kubectl top node',
      async () => {
        const r = await s.kubectl(['top', 'node', '--no-headers']);
        return r.code === 0 ? r.stdout.trim() : undefined;
      },
      30_000,
    );
    const [name, cpu, cpuPct, mem, memPct] = nodeLine.split(/\s+/);
    assert.equal(name, cluster.nodeName);
    assert.ok(milli(cpu) > 0, `node CPU ${cpu}`);
    assert.match(cpuPct, /^\d+%$/);
    assert.match(mem, /^\d+(Ki|Mi|Gi)$/);
    assert.match(memPct, /^\d+%$/);

    const podLine = await until(
      'kubectl top pod with non-zero CPU',
      async () => {
        const r = await s.kubectl(['top', 'pod', 'burn', '--no-headers']);
        if (r.code !== 0) throw new Error(r.stderr.trim());
        const [, c] = r.stdout.trim().split(/\s+/);
        return milli(c) > 0 ? r.stdout.trim() : undefined;
      },
      30_000,
    );
    const seconds = ((Date.now() - readyAt) / 1000).toFixed(1);
    const [pname, pcpu, pmem] = podLine.split(/\s+/);
    assert.equal(pname, 'burn');
    // A spinning shell gets a good share of a core even on a busy 2-CPU machine.
    assert.ok(milli(pcpu) >= 100, `pod CPU ${pcpu}`);
    assert.match(pmem, /^\d+(Ki|Mi)$/);
    console.log(`# top pod: ${podLine} (${seconds} s after Ready); top node: ${nodeLine}`);

    const containers = await s.k('top', 'pod', '-l', 'app=burn', '--containers', '--no-headers');
    assert.match(containers, /^burn\s+spin\s+\d+m\s+\d+(Ki|Mi)/);
    const missing = await s.kubectl(['top', 'pod', 'nosuch']);
    assert.equal(missing.stderr.trim(), 'Error from server (NotFound): pods "nosuch" not found');
  });
});

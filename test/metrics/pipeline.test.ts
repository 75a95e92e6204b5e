// The metrics pipeline without a cluster: Prometheus text parsing, decoding a kubelet scrape,
// metrics-server's rate math and point bookkeeping, quantity/duration spelling, the kubelet's
// /metrics/resource rendering (round trip through the parser) and /proc parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText, PrometheusParseError } from '../../src/metrics/prometheus-text.js';
import { decodeResourceMetrics, type MetricsPoint, type NodeScrape } from '../../src/metrics/decode.js';
import { FRESH_CONTAINER_MIN_WINDOW_MS, MetricsStore, usageBetween } from '../../src/metrics/store.js';
import { formatBytes, formatNanoCores, goDuration, rfc3339 } from '../../src/metrics/format.js';
import { renderResourceMetrics } from '../../src/kubelet/stats/resource-metrics.js';
import { memoryFromMeminfo, parseMeminfo, parseProcStatCpu } from '../../src/kubelet/stats/host-stats.js';
import { criStatsProvider, sumContainers } from '../../src/kubelet/stats/provider.js';
import { isScrapable } from '../../src/metrics/scraper.js';

const KUBELET_SAMPLE = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="coredns",namespace="kube-system",pod="coredns-1"} 3.5 1700000010000
container_cpu_usage_seconds_total{container="web",namespace="default",pod="web-0"} 12.25 1700000010500
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="coredns",namespace="kube-system",pod="coredns-1"} 1.2288e+07 1700000010000
container_memory_working_set_bytes{container="web",namespace="default",pod="web-0"} 4096 1700000010500
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="coredns",namespace="kube-system",pod="coredns-1"} 1.6999e+09
container_start_time_seconds{container="web",namespace="default",pod="web-0"} 1.6999e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1234.5 1700000009000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2.147483648e+09 1700000009000
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`;

test('prometheus text: names, labels with escapes, Go floats, timestamps', () => {
  const s = parsePrometheusText(
    [
      '# a comment',
      'm1 1',
      'm2{a="x",b="q\\"uote\\\\back\\nline"} -2.5e+03 1700000000123',
      'm3{ a = "1" , } +Inf',
      'm4 NaN',
      '',
    ].join('\n'),
  );
  assert.deepEqual(s[0], { name: 'm1', labels: {}, value: 1 });
  assert.deepEqual(s[1], { name: 'm2', labels: { a: 'x', b: 'q"uote\\back\nline' }, value: -2500, timestampMs: 1700000000123 });
  assert.equal(s[2].value, Infinity);
  assert.deepEqual(s[2].labels, { a: '1' });
  assert.ok(Number.isNaN(s[3].value));
  // Filtering by name skips the rest (even malformed label sets of unwanted metrics are not looked at).
  assert.deepEqual(parsePrometheusText('a 1\nb{oops 2\n', new Set(['a'])).map((x) => x.name), ['a']);
  assert.throws(() => parsePrometheusText('x{a="1" 2'), PrometheusParseError);
  assert.throws(() => parsePrometheusText('x abc'), /invalid value/);
  assert.throws(() => parsePrometheusText('x 1 12.5'), /invalid timestamp/);
  assert.throws(() => parsePrometheusText('9x 1'), /invalid metric name/);
});

test('decode: node and container points from a kubelet scrape', () => {
  const d = decodeResourceMetrics(KUBELET_SAMPLE, 1);
  assert.deepEqual(d.node, { startTimeMs: 0, timestampMs: 1700000009000, cumulativeCpuNs: 1234.5e9, memoryBytes: 2147483648 });
  assert.deepEqual([...d.pods.keys()], ['kube-system/coredns-1', 'default/web-0']);
  assert.deepEqual(d.pods.get('default/web-0')!.get('web'), { startTimeMs: 1699900000000, timestampMs: 1700000010500, cumulativeCpuNs: 12.25e9, memoryBytes: 4096 });
  // A pod with a container lacking memory is left out whole; samples without timestamps take the scrape time.
  const partial = decodeResourceMetrics(
    'container_cpu_usage_seconds_total{container="a",namespace="n",pod="p"} 1\ncontainer_cpu_usage_seconds_total{container="b",namespace="n",pod="p"} 1\ncontainer_memory_working_set_bytes{container="a",namespace="n",pod="p"} 5\nnode_cpu_usage_seconds_total 3\nnode_memory_working_set_bytes 4\n',
    42,
  );
  assert.equal(partial.pods.size, 0);
  assert.equal(partial.node?.timestampMs, 42);
  assert.equal(decodeResourceMetrics('resource_scrape_error 1\n', 1).node, undefined);
});

const pt = (timestampMs: number, cpuSeconds: number, memoryBytes = 100, startTimeMs = 1): MetricsPoint => ({ startTimeMs, timestampMs, cumulativeCpuNs: cpuSeconds * 1e9, memoryBytes });

function round(node: MetricsPoint | undefined, pods: Record<string, Record<string, MetricsPoint>> = {}): Map<string, NodeScrape> {
  const scrape: NodeScrape = { node, pods: new Map(Object.entries(pods).map(([k, v]) => [k, new Map(Object.entries(v))])) };
  return new Map([['n1', scrape]]);
}

test('rate math: nanocores from two cumulative points, memory from the last', () => {
  assert.deepEqual(usageBetween(pt(20_000, 5, 300), pt(10_000, 3, 200)), { cpuNanoCores: 200_000_000, memoryBytes: 300, windowMs: 10_000 });
  assert.equal(usageBetween(pt(20_000, 2), pt(10_000, 3)), undefined, 'counter went backwards');
  assert.equal(usageBetween(pt(10_000, 3), pt(10_000, 3)), undefined, 'no time passed');
  // One full core for 1.5 s.
  assert.equal(usageBetween(pt(1500, 1.5), pt(0, 0))!.cpuNanoCores, 1e9);
});

test('store: needs two scrapes, keeps prev across a repeated scrape, forgets missing nodes and pods', () => {
  const st = new MetricsStore(15_000);
  const start = 1_000_000;
  st.storeRound(round(pt(start + 100_000, 10), { 'default/p': { c: pt(start + 100_000, 1, 100, start) } }));
  assert.equal(st.nodeUsage('n1'), undefined);
  assert.equal(st.podUsage('default', 'p'), undefined);
  st.storeRound(round(pt(start + 115_000, 13, 500), { 'default/p': { c: pt(start + 115_000, 2.5, 700, start) } }));
  assert.deepEqual(st.nodeUsage('n1'), { cpuNanoCores: 200_000_000, memoryBytes: 500, timestampMs: start + 115_000, windowMs: 15_000 });
  assert.deepEqual(st.podUsage('default', 'p'), { timestampMs: start + 115_000, windowMs: 15_000, containers: [{ name: 'c', usage: { cpuNanoCores: 100_000_000, memoryBytes: 700 } }] });
  // The kubelet answered with the same sample again: the stored previous point stays.
  st.storeRound(round(pt(start + 115_000, 13, 500), { 'default/p': { c: pt(start + 115_000, 2.5, 700, start) } }));
  assert.equal(st.nodeUsage('n1')?.cpuNanoCores, 200_000_000);
  assert.equal(st.podUsage('default', 'p')?.containers[0].usage.cpuNanoCores, 100_000_000);
  // A round without the pod (or node) forgets it.
  st.storeRound(round(pt(start + 130_000, 16)));
  assert.equal(st.podUsage('default', 'p'), undefined);
  st.storeRound(new Map());
  assert.equal(st.nodeUsage('n1'), undefined);
});

test('store: a restarted container starts over; a fresh one counts from its start time', () => {
  const st = new MetricsStore(15_000);
  const t0 = 5_000_000;
  st.storeRound(round(pt(t0, 1), { 'ns/p': { c: pt(t0, 50, 1, t0 - 60_000) } }));
  // Restarted: start time after the stored point (7 s ago: too young for the fresh rule); its counter began again.
  st.storeRound(round(pt(t0 + 15_000, 2), { 'ns/p': { c: pt(t0 + 15_000, 0.5, 1, t0 + 8_000) } }));
  assert.equal(st.podUsage('ns', 'p'), undefined);
  st.storeRound(round(pt(t0 + 30_000, 3), { 'ns/p': { c: pt(t0 + 30_000, 2, 1, t0 + 8_000) } }));
  assert.equal(st.podUsage('ns', 'p')?.containers[0].usage.cpuNanoCores, 100_000_000);

  // First seen 12 s after starting (>= 10 s, < resolution): usage from (start, 0) right away.
  const fresh = new MetricsStore(15_000);
  const started = t0 - 12_000;
  fresh.storeRound(round(pt(t0, 1), { 'ns/new': { c: pt(t0, 6, 1, started) } }));
  assert.deepEqual(fresh.podUsage('ns', 'new'), { timestampMs: t0, windowMs: 12_000, containers: [{ name: 'c', usage: { cpuNanoCores: 500_000_000, memoryBytes: 1 } }] });
  // Younger than the 10 s minimum: wait for a second point.
  const young = new MetricsStore(15_000);
  young.storeRound(round(pt(t0, 1), { 'ns/new': { c: pt(t0, 6, 1, t0 - FRESH_CONTAINER_MIN_WINDOW_MS + 1) } }));
  assert.equal(young.podUsage('ns', 'new'), undefined);
});

test('store: a pod reports only when every container has two points; time info is the earliest container', () => {
  const st = new MetricsStore(60_000);
  const t = 9_000_000;
  st.storeRound(round(undefined, { 'ns/p': { a: pt(t, 1), b: pt(t + 500, 1) } }));
  st.storeRound(round(undefined, { 'ns/p': { a: pt(t + 10_000, 2), b: pt(t + 10_500, 3), c: pt(t + 10_000, 0.1) } }));
  assert.equal(st.podUsage('ns', 'p'), undefined, 'container c has one point');
  st.storeRound(round(undefined, { 'ns/p': { a: pt(t + 20_000, 3), b: pt(t + 20_500, 5), c: pt(t + 21_000, 0.6) } }));
  const u = st.podUsage('ns', 'p')!;
  assert.equal(u.timestampMs, t + 20_000);
  assert.equal(u.windowMs, 10_000);
  assert.deepEqual(u.containers.map((c) => [c.name, c.usage.cpuNanoCores]), [['a', 100_000_000], ['b', 200_000_000], ['c', 45_454_545]]);
});

test('format: canonical quantities, RFC 3339 seconds, Go durations', () => {
  assert.equal(formatNanoCores(0), '0');
  assert.equal(formatNanoCores(163_219_594), '163219594n');
  assert.equal(formatNanoCores(250_000_000), '250m');
  assert.equal(formatNanoCores(2e9), '2');
  assert.equal(formatNanoCores(1_500_000_000), '1500m');
  assert.equal(formatNanoCores(12_000), '12u');
  assert.equal(formatBytes(0), '0');
  assert.equal(formatBytes(1_892_691_968), '1848332Ki');
  assert.equal(formatBytes(512 * 1024 * 1024), '512Mi');
  assert.equal(formatBytes(1000), '1000');
  assert.equal(rfc3339(Date.UTC(2026, 10, 29, 22, 1, 2, 999)), '2026-11-29T22:01:02Z');
  assert.equal(goDuration(15_012), '15.012s');
  assert.equal(goDuration(15_000), '15s');
  assert.equal(goDuration(60_000), '1m0s');
  assert.equal(goDuration(75_500), '1m15.5s');
  assert.equal(goDuration(3_723_000), '1h2m3s');
  assert.equal(goDuration(500), '500ms');
  assert.equal(goDuration(0), '0s');
});

test('kubelet /metrics/resource: upstream names, HELP/TYPE, sorted labels, timestamps; decodes back', () => {
  const text = renderResourceMetrics({
    node: { cpu: { timestampMs: 1700000000000, usageCoreNanoSeconds: 5.5e9 }, memory: { timestampMs: 1700000000001, workingSetBytes: 1024 } },
    pods: [
      {
        name: 'web',
        namespace: 'default',
        uid: 'u1',
        startTimeMs: 1699999990000,
        cpu: { timestampMs: 1700000000002, usageCoreNanoSeconds: 2e9 },
        memory: { timestampMs: 1700000000002, workingSetBytes: 2048 },
        containers: [
          { name: 'c"1', startTimeMs: 1699999991000, cpu: { timestampMs: 1700000000003, usageCoreNanoSeconds: 1.25e9 }, memory: { timestampMs: 1700000000003, workingSetBytes: 512 } },
        ],
      },
    ],
  });
  assert.match(text, /^# HELP container_cpu_usage_seconds_total \[STABLE\] Cumulative cpu time consumed by the container in core-seconds\n# TYPE container_cpu_usage_seconds_total counter\n/);
  assert.ok(text.includes('container_cpu_usage_seconds_total{container="c\\"1",namespace="default",pod="web"} 1.25 1700000000003\n'));
  assert.ok(text.includes('container_memory_working_set_bytes{container="c\\"1",namespace="default",pod="web"} 512 1700000000003\n'));
  assert.ok(text.includes('container_start_time_seconds{container="c\\"1",namespace="default",pod="web"} 1699999991\n'));
  assert.ok(text.includes('node_cpu_usage_seconds_total 5.5 1700000000000\n'));
  assert.ok(text.includes('node_memory_working_set_bytes 1024 1700000000001\n'));
  assert.ok(text.includes('pod_cpu_usage_seconds_total{namespace="default",pod="web"} 2 1700000000002\n'));
  assert.ok(text.includes('pod_memory_working_set_bytes{namespace="default",pod="web"} 2048 1700000000002\n'));
  assert.ok(text.endsWith('# TYPE resource_scrape_error gauge\nresource_scrape_error 0\n'));
  const back = decodeResourceMetrics(text, 0);
  assert.equal(back.node?.cumulativeCpuNs, 5.5e9);
  assert.deepEqual(back.pods.get('default/web')?.get('c"1'), { startTimeMs: 1699999991000, timestampMs: 1700000000003, cumulativeCpuNs: 1.25e9, memoryBytes: 512 });
  assert.equal(renderResourceMetrics(undefined).trim().split('\n').pop(), 'resource_scrape_error 1');
});

test('host stats: /proc/stat busy time and /proc/meminfo working set', () => {
  const stat = 'cpu  1000 10 200 5000 30 5 7 3 40 0\ncpu0 500 5 100 2500 15 2 3 1 20 0\n';
  // user+nice+system+irq+softirq+steal = 1225 ticks of 10 ms.
  assert.equal(parseProcStatCpu(stat), 12.25e9);
  assert.equal(parseProcStatCpu('intr 1 2\n'), undefined);
  const info = parseMeminfo('MemTotal:       1000 kB\nMemFree:         300 kB\nMemAvailable:    600 kB\nInactive(file):  200 kB\nHugePages_Total:       0\n');
  assert.equal(info.get('MemTotal'), 1000 * 1024);
  assert.equal(info.get('HugePages_Total'), 0);
  assert.deepEqual(memoryFromMeminfo(info, 7), { timestampMs: 7, usageBytes: 700 * 1024, workingSetBytes: 500 * 1024, availableBytes: 600 * 1024 });
});

test('CRI stats provider: ready sandboxes with their running containers; sums when sandbox stats fail', async () => {
  const u = (v: number) => ({ value: v });
  const sandboxes = [
    { id: 's1', metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, state: 'SANDBOX_READY', createdAt: 1_700_000_000_000_000_000, labels: {}, annotations: {}, runtimeHandler: '' },
  ];
  const containers = [
    { id: 'c1', podSandboxId: 's1', metadata: { name: 'b', attempt: 0 }, state: 'CONTAINER_RUNNING', createdAt: 1_700_000_001_000_000_000, labels: { 'io.kubernetes.container.name': 'b' } },
    { id: 'c2', podSandboxId: 's1', metadata: { name: 'a', attempt: 0 }, state: 'CONTAINER_RUNNING', createdAt: 1_700_000_002_000_000_000, labels: {} },
  ];
  const cstat = (id: string, cpu: number, mem: number) => ({
    attributes: { id, metadata: null, labels: {}, annotations: {} },
    cpu: { timestamp: 1_700_000_100_000_000_000, usageCoreNanoSeconds: u(cpu), usageNanoCores: null },
    memory: { timestamp: 1_700_000_100_000_000_000, workingSetBytes: u(mem), availableBytes: null, usageBytes: null, rssBytes: null, pageFaults: null, majorPageFaults: null },
    writableLayer: null,
    swap: null,
  });
  let sandboxCalls = 0;
  const provider = criStatsProvider(
    {
      listPodSandbox: async () => sandboxes as any,
      listContainers: async () => containers as any,
      listContainerStats: async () => [cstat('c1', 3e9, 100), cstat('c2', 1e9, 50)] as any,
      listPodSandboxStats: async () => {
        sandboxCalls++;
        throw new Error('unimplemented');
      },
    },
    { cpu: async () => ({ timestampMs: 5, usageCoreNanoSeconds: 9 }), memory: async () => ({ timestampMs: 5, workingSetBytes: 10 }) },
  );
  const s = await provider.resourceStats();
  assert.deepEqual(s.node, { cpu: { timestampMs: 5, usageCoreNanoSeconds: 9 }, memory: { timestampMs: 5, workingSetBytes: 10 } });
  assert.equal(s.pods.length, 1);
  const p = s.pods[0];
  assert.deepEqual([p.name, p.namespace, p.uid, p.startTimeMs], ['web', 'default', 'u1', 1_700_000_000_000]);
  assert.deepEqual(p.containers.map((c) => [c.name, c.startTimeMs, c.cpu?.usageCoreNanoSeconds, c.memory?.workingSetBytes]), [
    ['a', 1_700_000_002_000, 1e9, 50],
    ['b', 1_700_000_001_000, 3e9, 100],
  ]);
  assert.equal(p.cpu?.usageCoreNanoSeconds, 4e9);
  assert.equal(p.memory?.workingSetBytes, 150);
  await provider.resourceStats();
  assert.equal(sandboxCalls, 1, 'a runtime without sandbox stats is not asked again');
  assert.deepEqual(sumContainers([]), { cpu: undefined, memory: undefined });
});

test('scraper: hollow nodes are never dialled', () => {
  assert.equal(isScrapable({ status: { nodeInfo: { containerRuntimeVersion: 'hollow://1.0' } } }), false);
  assert.equal(isScrapable({ status: { nodeInfo: { containerRuntimeVersion: 'containerd://1.6.20' } } }), true);
  assert.equal(isScrapable({}), true);
});

// HorizontalPodAutoscaler: the replica calculation (ratio, tolerance, missing and unready pods),
// normalization (stabilization window, min/max, rate limits, behavior policies), the API
// (v2 defaults, v1 view, kubectl columns) and the controller scaling a Deployment through its
// scale subresource with an injected metrics source — and reporting when metrics are absent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/pki/index.js';
import { Client, EventRecorder, SharedInformerFactory, type KObject } from '../../src/client/index.js';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerContext } from '../../src/controllers/types.js';
import { HorizontalPodAutoscalerController, HPA_GVR } from '../../src/controllers/podautoscaler/controller.js';
import { calcResourceReplicas, type PodMetricsInfo } from '../../src/controllers/podautoscaler/replica-calculator.js';
import { normalizeDesiredReplicas, recordScaleEvent, ScaleHistory } from '../../src/controllers/podautoscaler/normalizer.js';
import { resourceMetricsFromApi } from '../../src/controllers/podautoscaler/metrics.js';

const OLD = new Date(Date.now() - 10 * 60_000).toISOString();
const pod = (name: string, cpuRequest = '100m', extra: { phase?: string; ready?: string } = {}): KObject => ({
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: cpuRequest } } }] },
  status: {
    phase: extra.phase ?? 'Running',
    startTime: OLD,
    conditions: [{ type: 'Ready', status: extra.ready ?? 'True', lastTransitionTime: OLD }],
  },
});
const metricsOf = (values: Record<string, number>): PodMetricsInfo =>
  new Map(Object.entries(values).map(([k, v]) => [k, { value: v, timestamp: Date.now(), windowMs: 30_000 }]));

test('replica calculation: ratio, tolerance, missing metrics and unready pods', () => {
  const pods = [pod('a'), pod('b'), pod('c')];
  // 100% of requests against a 50% target: twice the pods.
  let r = calcResourceReplicas(3, { utilization: 50 }, 'cpu', pods, metricsOf({ a: 100, b: 100, c: 100 }));
  assert.deepEqual([r.replicas, r.utilization, r.rawAverage], [6, 100, 100]);
  // 54% against 50%: inside the 10% tolerance.
  r = calcResourceReplicas(3, { utilization: 50 }, 'cpu', pods, metricsOf({ a: 54, b: 54, c: 54 }));
  assert.equal(r.replicas, 3);
  // Scale down to a quarter.
  r = calcResourceReplicas(4, { utilization: 50 }, 'cpu', [...pods, pod('d')], metricsOf({ a: 10, b: 10, c: 10, d: 10 }));
  assert.equal(r.replicas, 1);
  // A pod without metrics is assumed at 100% of its request when scaling down: 3 pods at 10% + 1 at 100%.
  // (130m of 400m requested = 32%, against 50%: ceil(0.64 × 4) = 3.)
  r = calcResourceReplicas(4, { utilization: 50 }, 'cpu', [...pods, pod('d')], metricsOf({ a: 10, b: 10, c: 10 }));
  assert.equal(r.replicas, 3);
  // An unready pod counts as idle when scaling up: 2 ready pods at 100% + 1 unready (0%) -> ratio 4/3.
  const unready = [pod('a'), pod('b'), pod('c', '100m', { ready: 'False' })];
  r = calcResourceReplicas(3, { utilization: 50 }, 'cpu', unready, metricsOf({ a: 100, b: 100, c: 100 }));
  assert.equal(r.replicas, 4);
  // Average value targets: 300m average against 100m.
  r = calcResourceReplicas(2, { averageMilli: 100 }, 'cpu', [pod('a'), pod('b')], metricsOf({ a: 300, b: 300 }));
  assert.equal(r.replicas, 6);
  assert.throws(() => calcResourceReplicas(1, { utilization: 50 }, 'cpu', [pod('a', '')], metricsOf({ a: 1 })), /missing request for cpu in container app of Pod a/);
  assert.throws(() => calcResourceReplicas(1, { utilization: 50 }, 'cpu', [], metricsOf({})), /no pods returned by selector/);
});

test('normalization: stabilization window, min/max, rate limits and behavior policies', () => {
  const h = new ScaleHistory();
  const t0 = 1_000_000;
  let n = normalizeDesiredReplicas(h, { current: 5, desired: 5, minReplicas: 1, maxReplicas: 10, now: t0 });
  assert.equal(n.replicas, 5);
  // A lower recommendation within 300 s is held at the highest recent one.
  n = normalizeDesiredReplicas(h, { current: 5, desired: 2, minReplicas: 1, maxReplicas: 10, now: t0 + 60_000 });
  assert.equal(n.replicas, 5);
  assert.equal(n.conditions[0].reason, 'ScaleDownStabilized');
  // Once the window has passed, it scales down.
  n = normalizeDesiredReplicas(h, { current: 5, desired: 2, minReplicas: 1, maxReplicas: 10, now: t0 + 301_000 });
  assert.equal(n.replicas, 2);
  // min/max clamping and the plain scale-up limit max(2×current, 4).
  const fresh = () => new ScaleHistory();
  n = normalizeDesiredReplicas(fresh(), { current: 3, desired: 1, minReplicas: 2, maxReplicas: 10, now: t0 });
  assert.deepEqual([n.replicas, n.conditions[1].reason, n.conditions[1].status], [2, 'TooFewReplicas', 'True']);
  n = normalizeDesiredReplicas(fresh(), { current: 3, desired: 9, minReplicas: 1, maxReplicas: 5, now: t0 });
  assert.deepEqual([n.replicas, n.conditions[1].reason], [5, 'TooManyReplicas']);
  n = normalizeDesiredReplicas(fresh(), { current: 2, desired: 20, minReplicas: 1, maxReplicas: 50, now: t0 });
  assert.deepEqual([n.replicas, n.conditions[1].reason], [4, 'ScaleUpLimit']);
  n = normalizeDesiredReplicas(fresh(), { current: 3, desired: 4, minReplicas: 1, maxReplicas: 10, now: t0 });
  assert.deepEqual([n.replicas, n.conditions[1].reason, n.conditions[1].status], [4, 'DesiredWithinRange', 'False']);

  // Behavior: at most 1 pod per 60 s up; scale-down window 0 (immediate).
  const behavior = { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] }, scaleDown: { stabilizationWindowSeconds: 0 } };
  const hb = new ScaleHistory();
  n = normalizeDesiredReplicas(hb, { current: 2, desired: 10, minReplicas: 1, maxReplicas: 20, behavior, now: t0 });
  assert.deepEqual([n.replicas, n.conditions[1].reason], [3, 'ScaleUpLimit']);
  recordScaleEvent(hb, behavior, 2, 3, t0);
  n = normalizeDesiredReplicas(hb, { current: 3, desired: 10, minReplicas: 1, maxReplicas: 20, behavior, now: t0 + 30_000 });
  assert.equal(n.replicas, 3, 'the period budget is spent');
  n = normalizeDesiredReplicas(hb, { current: 3, desired: 10, minReplicas: 1, maxReplicas: 20, behavior, now: t0 + 61_000 });
  assert.equal(n.replicas, 4);
  n = normalizeDesiredReplicas(hb, { current: 4, desired: 1, minReplicas: 1, maxReplicas: 20, behavior, now: t0 + 62_000 });
  assert.equal(n.replicas, 1, 'default scale-down policy: 100% per 15 s, no window');
  // selectPolicy Disabled: no scale-up at all.
  n = normalizeDesiredReplicas(new ScaleHistory(), { current: 2, desired: 5, minReplicas: 1, maxReplicas: 20, behavior: { scaleUp: { selectPolicy: 'Disabled' } }, now: t0 });
  assert.equal(n.replicas, 2);
});

// ---- against an API server ----

let api: ApiServer;
let client: Client;
let dir: string;
let kubeconfig: string;
const stop = new AbortController();
let running: Promise<void>;
const cpuUsage = new Map<string, number>(); // pod -> milli-CPU

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-hpa-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore(), metricResolutionMs: 0 });
  kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, { server: api.url, caPem: api.pki.serverCaCertPem, certPem: api.pki.adminCertPem, keyPem: api.pki.adminKeyPem });
  client = new Client({ inProcess: { connect: (u) => api.connect(u), user: { name: 'system:admin', groups: ['system:masters'] } }, qps: 0 });
  const fromApi = resourceMetricsFromApi(client);
  const informers = new SharedInformerFactory(client);
  const recorders: EventRecorder[] = [];
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (name) => {
      const r = new EventRecorder({ client, reportingController: name, reportingInstance: `${name}-test` });
      recorders.push(r);
      return r;
    },
    signal: stop.signal,
    options: DEFAULT_CONTROLLER_OPTIONS,
  };
  const hpa = new HorizontalPodAutoscalerController({
    syncPeriodMs: 200,
    // The "metrics" namespace gets fake usage; elsewhere the (absent) metrics API is asked.
    metrics: async (ns, selector, resource, container) => {
      if (ns !== 'metrics') return fromApi(ns, selector, resource, container);
      return metricsOf(Object.fromEntries(cpuUsage));
    },
  });
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  running = hpa.run(ctx, ready).then(async () => {
    await Promise.all(recorders.map((r) => r.stop()));
  });
  await new Promise((r) => setImmediate(r));
  informers.start();
  await informers.waitForCacheSync();
  markReady();
  stop.signal.addEventListener('abort', () => informers.stop());
});

after(async () => {
  stop.abort();
  await running;
  client.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(cond: () => Promise<T>, what: string, ms = 10_000): Promise<Exclude<T, false | undefined | null>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, false | undefined | null>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setupTarget(ns: string, replicas: number): Promise<void> {
  await client.namespaces.create(null, { metadata: { name: ns } });
  await client.deployments.create(ns, {
    metadata: { name: 'web' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: '100m' } } }] } } },
  });
  for (let i = 0; i < replicas; i++) {
    const p = pod(`web-${i}`);
    const { status, ...rest } = p;
    await client.pods.create(ns, rest);
    await client.pods.patch(ns, `web-${i}`, { status }, 'merge', { subresource: 'status' });
  }
}

const hpaV2 = (maxReplicas = 10) => ({
  metadata: { name: 'web' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    maxReplicas,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  },
});

test('API: v2 defaults, validation, and the v1 view of the same object', async () => {
  await client.namespaces.create(null, { metadata: { name: 'api' } });
  const v1 = client.resource({ ...HPA_GVR, version: 'v1' });
  const created = await v1.create('api', { metadata: { name: 'old' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, maxReplicas: 3, targetCPUUtilizationPercentage: 70 } });
  assert.equal(created.spec.minReplicas, 1);
  const asV2 = await client.resource(HPA_GVR).get('api', 'old');
  assert.deepEqual(asV2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
  const dflt = await client.resource(HPA_GVR).create('api', { metadata: { name: 'dflt' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 2 } });
  assert.equal(dflt.spec.metrics[0].resource.target.averageUtilization, 80);
  assert.equal((await v1.get('api', 'dflt')).spec.targetCPUUtilizationPercentage, 80);
  await assert.rejects(
    client.resource(HPA_GVR).create('api', { metadata: { name: 'bad' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, minReplicas: 3, maxReplicas: 2 } }),
    (e: any) => e.code === 422 && /spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/.test(e.message),
  );
});

test('scales a Deployment up through its scale subresource, up to maxReplicas', async () => {
  const ns = 'metrics';
  await setupTarget(ns, 2);
  cpuUsage.set('web-0', 200).set('web-1', 200); // 200% of the 100m requests vs a 50% target
  await client.resource(HPA_GVR).create(ns, hpaV2(4));
  const d = await waitFor(async () => {
    const d = await client.deployments.get(ns, 'web');
    return d.spec.replicas === 4 && d;
  }, 'deployment scaled to 4');
  assert.equal(d.spec.replicas, 4);
  const hpa = await waitFor(async () => {
    const h = await client.resource(HPA_GVR).get(ns, 'web');
    return h.status?.desiredReplicas === 4 && h.status?.currentReplicas === 4 && h;
  }, 'hpa status');
  assert.ok(hpa.status.lastScaleTime);
  assert.deepEqual(hpa.status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '200m', averageUtilization: 200 } } }]);
  const cond = Object.fromEntries(hpa.status.conditions.map((c: any) => [c.type, c]));
  assert.equal(cond.ScalingActive.reason, 'ValidMetricFound');
  assert.equal(cond.ScalingActive.message, 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)');
  assert.equal(cond.ScalingLimited.reason, 'TooManyReplicas'); // wanted 8, capped at maxReplicas

  const v1 = await client.resource({ ...HPA_GVR, version: 'v1' }).get(ns, 'web');
  assert.equal(v1.status.currentCPUUtilizationPercentage, 200);
  assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);

  const out = await new Promise<string>((resolve, reject) =>
    execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', 'hpa', '-n', ns], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
  );
  const [header, row] = out.trim().split('\n');
  assert.match(header, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE$/);
  assert.match(row, /^web\s+Deployment\/web\s+cpu: 200%\/50%\s+1\s+4\s+\d+\s+\S+$/);


  // Scaled back by hand: the 300 s stabilization window keeps the recent recommendation (8, capped at 4).
  await client.deployments.scale(ns, 'web', 2);
  cpuUsage.set('web-0', 10).set('web-1', 10);
  await waitFor(async () => (await client.deployments.get(ns, 'web')).spec.replicas === 4, 'held at 4 by stabilization');
  const held = await waitFor(async () => {
    const h = await client.resource(HPA_GVR).get(ns, 'web');
    const able = (h.status?.conditions ?? []).find((c: any) => c.type === 'AbleToScale');
    return able?.reason === 'ScaleDownStabilized' && h;
  }, 'ScaleDownStabilized');
  assert.equal(held.status.currentMetrics[0].resource.current.averageUtilization, 10);
});

test('without a metrics API: ScalingActive=False, FailedGetResourceMetric, no scaling', async () => {
  const ns = 'nometrics';
  await setupTarget(ns, 2);
  await client.resource(HPA_GVR).create(ns, hpaV2());
  const hpa = await waitFor(async () => {
    const h = await client.resource(HPA_GVR).get(ns, 'web');
    return (h.status?.conditions ?? []).some((c: any) => c.type === 'ScalingActive') && h;
  }, 'ScalingActive condition');
  const active = hpa.status.conditions.find((c: any) => c.type === 'ScalingActive');
  assert.equal(active.status, 'False');
  assert.equal(active.reason, 'FailedGetResourceMetric');
  assert.match(active.message, /^the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource \(get pods.metrics.k8s.io\)$/);
  assert.equal(hpa.status.conditions.find((c: any) => c.type === 'AbleToScale').reason, 'SucceededGetScale');
  assert.equal((await client.deployments.get(ns, 'web')).spec.replicas, 2);
});

// Endpoints and EndpointSlice controllers against a real API server: addresses follow pod
// readiness, named target ports resolve per pod, publishNotReadyAddresses, terminating pods,
// selector-less Services left alone, slice labels/owner/zone, slicing with minimal churn.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/client/index.js';
import type { Controller } from '../../src/controllers/types.js';
import { startControllerEnv, waitForIgnoringErrors as waitFor, type ControllerEnv as Env } from './harness.js';
import { EndpointsController } from '../../src/controllers/endpoints/controller.js';
import { EndpointSliceController } from '../../src/controllers/endpointslice/controller.js';
import { truncateSubsets, computeSubsets } from '../../src/controllers/endpoints/subsets.js';
import { reconcileSlices } from '../../src/controllers/endpointslice/reconciler.js';

// The EventRecorder's own flush interval (500 ms); no extra controllers are started later.
const startEnv = (controllers: Controller[]) => startControllerEnv(controllers, {}, { dirPrefix: 'skiff-ep-', recorderFlushMs: 500 });

let env: Env;
const ns = 'ep-test';
const slicer = new EndpointSliceController({ maxEndpointsPerSlice: 3 });

before(async () => {
  env = await startEnv([new EndpointsController(), slicer]);
  await env.client.namespaces.create(null, { metadata: { name: ns } });
  await env.client.nodes.create(null, { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-1' } } });
});
after(async () => {
  await env.close();
});

let ipSeq = 10;
async function makePod(name: string, labels: Record<string, string>, ports: any[], ready: boolean, extra: any = {}): Promise<KObject> {
  const pod = await env.client.pods.create(ns, {
    metadata: { name, labels },
    spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'nginx', ports }], ...extra },
  });
  const ip = `10.42.0.${ipSeq++}`;
  return setStatus(pod, ready, ip);
}

async function setStatus(pod: KObject, ready: boolean, ip = pod.status?.podIP): Promise<KObject> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return env.client.pods.patch(
    ns,
    pod.metadata!.name!,
    { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }] } },
    'merge',
    { subresource: 'status' },
  );
}

async function endpoints(name: string): Promise<KObject | undefined> {
  try {
    return await env.client.endpoints.get(ns, name);
  } catch {
    return undefined;
  }
}

async function slicesOf(svc: string): Promise<KObject[]> {
  const list = await env.client.endpointSlices.list(ns, { labelSelector: `kubernetes.io/service-name=${svc}` });
  return list.items;
}

const ips = (subsets: any[] | undefined, field: 'addresses' | 'notReadyAddresses') =>
  (subsets ?? []).flatMap((s) => (s[field] ?? []).map((a: any) => a.ip)).sort();

test('endpoints follow pod readiness and resolve named target ports per pod', async () => {
  await env.client.services.create(ns, {
    metadata: { name: 'web', labels: { tier: 'front' } },
    spec: {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
    },
  });
  const p1 = await makePod('web-1', { app: 'web' }, [{ name: 'http', containerPort: 8080 }], true);
  const p2 = await makePod('web-2', { app: 'web' }, [{ name: 'http', containerPort: 8081 }], true);
  const p3 = await makePod('web-3', { app: 'web' }, [], true);
  await makePod('other', { app: 'other' }, [], true);

  const ep = await waitFor(async () => {
    const e = await endpoints('web');
    return ips(e?.subsets, 'addresses').length === 3 && e;
  }, 10_000, 'three ready addresses');
  assert.equal(ep.metadata!.labels!.tier, 'front');
  assert.ok(ep.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time']);
  // Grouped by port set: {http:8080, metrics}, {http:8081, metrics}, {metrics} only.
  const byIp = new Map<string, any>();
  for (const ss of ep.subsets!) for (const a of ss.addresses ?? []) byIp.set(a.ip, ss.ports);
  const portsOf = (p: KObject) => byIp.get(p.status!.podIP).map((x: any) => `${x.name}:${x.port}`).sort();
  assert.deepEqual(portsOf(p1), ['http:8080', 'metrics:9090']);
  assert.deepEqual(portsOf(p2), ['http:8081', 'metrics:9090']);
  assert.deepEqual(portsOf(p3), ['metrics:9090']);
  const addr = ep.subsets!.flatMap((s: any) => s.addresses).find((a: any) => a.ip === p1.status!.podIP);
  assert.equal(addr.nodeName, 'node-a');
  assert.deepEqual(addr.targetRef, { kind: 'Pod', namespace: ns, name: 'web-1', uid: p1.metadata!.uid });

  // Not ready → notReadyAddresses; ready again → back.
  await setStatus(p1, false);
  await waitFor(async () => {
    const e = await endpoints('web');
    return ips(e?.subsets, 'notReadyAddresses').includes(p1.status!.podIP) && ips(e?.subsets, 'addresses').length === 2;
  }, 10_000, 'web-1 not ready');
  await waitFor(async () => {
    const s = await slicesOf('web');
    const ep1 = s.flatMap((x) => x.endpoints ?? []).find((e: any) => e.targetRef?.name === 'web-1');
    return ep1 && ep1.conditions.ready === false && ep1.conditions.serving === false;
  }, 10_000, 'slice shows web-1 not ready');
  await setStatus(p1, true);
  await waitFor(async () => ips((await endpoints('web'))?.subsets, 'addresses').length === 3, 10_000, 'web-1 ready again');

  // A terminating pod leaves Endpoints but stays in the slice as terminating.
  await env.client.pods.delete(ns, 'web-3');
  await waitFor(async () => !ips((await endpoints('web'))?.subsets, 'addresses').includes(p3.status!.podIP), 10_000, 'terminating pod removed');
  const term = await waitFor(async () => {
    const s = await slicesOf('web');
    const e = s.flatMap((x) => x.endpoints ?? []).find((x: any) => x.targetRef?.name === 'web-3');
    return e?.conditions.terminating === true && e;
  }, 10_000, 'terminating endpoint in slice');
  assert.deepEqual(term.conditions, { ready: false, serving: true, terminating: true });
});

test('endpoint slices: labels, owner, zone, ports, addressType', async () => {
  const svc = await env.client.services.get(ns, 'web');
  const slices = await slicesOf('web');
  assert.ok(slices.length >= 1);
  for (const s of slices) {
    assert.match(s.metadata!.name!, /^web-[a-z0-9]{5}$/);
    assert.equal(s.addressType, 'IPv4');
    assert.equal(s.metadata!.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(s.metadata!.labels!.tier, 'front');
    assert.deepEqual(s.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  }
  const e1 = slices.flatMap((x) => x.endpoints ?? []).find((e: any) => e.targetRef?.name === 'web-1');
  assert.equal(e1.nodeName, 'node-a');
  assert.equal(e1.zone, 'zone-1');
  const withE1 = slices.find((s) => (s.endpoints ?? []).some((e: any) => e.targetRef?.name === 'web-1'))!;
  assert.deepEqual(
    withE1.ports.map((p: any) => `${p.name}:${p.port}/${p.protocol}`).sort(),
    ['http:8080/TCP', 'metrics:9090/TCP'],
  );
});

test('publishNotReadyAddresses lists not-ready pods as ready', async () => {
  await env.client.services.create(ns, {
    metadata: { name: 'peers' },
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'peer' }, ports: [{ name: 'p', port: 7000 }] },
  });
  const p = await makePod('peer-0', { app: 'peer' }, [], false, { hostname: 'peer-0', subdomain: 'peers' });
  const ep = await waitFor(async () => {
    const e = await endpoints('peers');
    return ips(e?.subsets, 'addresses').includes(p.status!.podIP) && e;
  }, 10_000, 'not-ready pod published');
  assert.equal(ep.subsets![0].addresses[0].hostname, 'peer-0');
  assert.equal(ep.metadata!.labels!['service.kubernetes.io/headless'], '');
  const s = await waitFor(async () => (await slicesOf('peers')).find((x) => x.endpoints?.length), 10_000, 'slice');
  assert.deepEqual(s.endpoints[0].conditions, { ready: true, serving: false, terminating: false });
});

test('services without a selector are left alone; a placeholder slice for a service without pods', async () => {
  await env.client.services.create(ns, { metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } });
  await env.client.endpoints.create(ns, { metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 80, protocol: 'TCP' }] }] });
  await env.client.services.create(ns, { metadata: { name: 'empty' }, spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] } });
  const ph = await waitFor(async () => (await slicesOf('empty'))[0], 10_000, 'placeholder slice');
  assert.deepEqual(ph.endpoints ?? [], []);
  await waitFor(async () => (await endpoints('empty')) !== undefined, 10_000, 'empty endpoints');
  await new Promise((r) => setTimeout(r, 300));
  const manual = await env.client.endpoints.get(ns, 'manual');
  assert.deepEqual(ips(manual.subsets, 'addresses'), ['192.168.1.1']);
  assert.equal((await slicesOf('manual')).length, 0);
  // Deleting a selected service's Endpoints brings them back.
  await env.client.endpoints.delete(ns, 'empty');
  await waitFor(async () => (await endpoints('empty')) !== undefined, 10_000, 'endpoints recreated');
});

test('slices hold at most maxEndpointsPerSlice endpoints and change in place', async () => {
  await env.client.services.create(ns, { metadata: { name: 'many' }, spec: { selector: { app: 'many' }, ports: [{ name: 'h', port: 80 }] } });
  const pods: KObject[] = [];
  for (let i = 0; i < 7; i++) pods.push(await makePod(`many-${i}`, { app: 'many' }, [], true));
  const before = await waitFor(async () => {
    const s = await slicesOf('many');
    const n = s.reduce((a, x) => a + (x.endpoints?.length ?? 0), 0);
    return n === 7 && s;
  }, 10_000, '7 endpoints');
  assert.equal(before.length, 3);
  for (const s of before) assert.ok(s.endpoints.length <= 3);
  const rvs = new Map(before.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion]));
  await setStatus(pods[0]!, false);
  const after = await waitFor(async () => {
    const s = await slicesOf('many');
    const e = s.flatMap((x) => x.endpoints ?? []).find((x: any) => x.targetRef?.name === 'many-0');
    return e?.conditions.ready === false && s;
  }, 10_000, 'many-0 not ready');
  assert.deepEqual(after.map((s) => s.metadata!.name).sort(), [...rvs.keys()].sort(), 'same slices');
  const changed = after.filter((s) => s.metadata!.resourceVersion !== rvs.get(s.metadata!.name!));
  assert.equal(changed.length, 1, 'only the slice holding many-0 was written');
  // A deleted pod leaves its slice; a new one fills the gap rather than a new slice.
  await env.client.pods.delete(ns, 'many-3', { gracePeriodSeconds: 0 });
  await makePod('many-7', { app: 'many' }, [], true);
  const final = await waitFor(async () => {
    const s = await slicesOf('many');
    const names = s.flatMap((x) => x.endpoints ?? []).map((x: any) => x.targetRef?.name);
    return names.includes('many-7') && !names.includes('many-3') && s;
  }, 10_000, 'many-7 in, many-3 out');
  assert.equal(final.length, 3);
});

test('truncation to 1000 addresses and subset grouping (unit)', () => {
  const subsets = [
    { addresses: Array.from({ length: 700 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}` })), notReadyAddresses: Array.from({ length: 500 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}` })) },
  ];
  assert.equal(truncateSubsets(subsets), true);
  assert.equal(subsets[0]!.addresses.length, 700);
  assert.equal(subsets[0]!.notReadyAddresses.length, 300);
  const over = [{ addresses: Array.from({ length: 1500 }, (_, i) => ({ ip: `10.2.${i >> 8}.${i & 255}` })), notReadyAddresses: [{ ip: '10.3.0.1' }] }];
  assert.equal(truncateSubsets(over), true);
  assert.equal(over[0]!.addresses.length, 1000);
  assert.equal((over[0] as any).notReadyAddresses, undefined);
  assert.equal(truncateSubsets([{ addresses: [{ ip: '10.0.0.1' }] }]), false);

  const svc = { metadata: { name: 's', namespace: 'n' }, spec: { ports: [{ name: 'a', port: 1, targetPort: 'x' }] } };
  const pod = (name: string, ip: string, ready: boolean, ports: any[] = [{ name: 'x', containerPort: 5 }]) => ({
    metadata: { name, namespace: 'n', uid: name },
    spec: { containers: [{ name: 'c', ports }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const out = computeSubsets(svc, [pod('a', '10.0.0.2', true), pod('b', '10.0.0.1', false), pod('c', '10.0.0.3', true, [])]);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].addresses.map((a: any) => a.ip), ['10.0.0.2']);
  assert.deepEqual(out[0].notReadyAddresses.map((a: any) => a.ip), ['10.0.0.1']);
  assert.deepEqual(out[0].ports, [{ name: 'a', port: 5, protocol: 'TCP' }]);
});

test('reconciler recycles a slice to delete into a slice to create (unit)', () => {
  const ep = (n: number) => ({ addresses: [`10.0.0.${n}`], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'n', name: `p${n}` } });
  const labels = { 'kubernetes.io/service-name': 's' };
  const oldSlice = { metadata: { name: 's-old', labels }, addressType: 'IPv4', ports: [{ name: 'a', port: 1, protocol: 'TCP' }], endpoints: [ep(1)] };
  const newPorts = [{ name: 'a', port: 2, protocol: 'TCP' }];
  const plan = reconcileSlices({
    addressType: 'IPv4',
    desired: new Map([[JSON.stringify([['a', 2, 'TCP', '']]), { ports: newPorts, endpoints: new Map([['k', ep(1)]]) }]]),
    existing: [oldSlice],
    maxEndpointsPerSlice: 100,
    labels,
    newSlice: () => ({ metadata: { generateName: 's-', labels }, addressType: 'IPv4' }),
  });
  assert.equal(plan.create.length, 0);
  assert.equal(plan.delete.length, 0);
  assert.equal(plan.update.length, 1);
  assert.equal(plan.update[0]!.metadata!.name, 's-old');
  assert.deepEqual(plan.update[0]!.ports, newPorts);
});

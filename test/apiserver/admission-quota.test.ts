// ResourceQuota admission against a real API server with the quota controller running:
// rejections with upstream's messages (nothing stored), usage charged at admission and given
// back by the controller, cpu constraints, and no over-admission under concurrent creates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../controllers/deployment-harness.js';
import { ApiStatusError, type KObject } from '../../src/client/index.js';

let c: Cluster;
before(async () => {
  c = await startCluster({ controllers: ['resourcequota'] });
});
after(async () => {
  await c.close();
});

async function namespace(name: string): Promise<string> {
  await c.client.namespaces.create(null, { metadata: { name } });
  return name;
}

async function quota(ns: string, name: string, hard: Record<string, string>, extra: Record<string, unknown> = {}): Promise<void> {
  await c.client.resourceQuotas.create(ns, { metadata: { name }, spec: { hard, ...extra } });
  // Admission waits for the controller's first count, as upstream does.
  await waitFor(async () => {
    const q = await c.client.resourceQuotas.get(ns, name);
    return Object.keys(hard).every((k) => q.status?.used?.[k] !== undefined);
  }, 10_000, `quota ${name} status`);
}

const pod = (name: string, resources?: Record<string, unknown>): KObject => ({
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'nginx', ...(resources ? { resources } : {}) }] },
});

async function rejection(p: Promise<unknown>): Promise<ApiStatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiStatusError, String(e));
    return e;
  }
  assert.fail('expected the write to be rejected');
}

async function used(ns: string, name: string): Promise<Record<string, string>> {
  return (await c.client.resourceQuotas.get(ns, name)).status?.used ?? {};
}

test('pods beyond the quota are refused with the upstream message and not stored', async () => {
  const ns = await namespace('quota-pods');
  await quota(ns, 'compute', { pods: '2' });
  assert.deepEqual((await c.client.resourceQuotas.get(ns, 'compute')).status, { hard: { pods: '2' }, used: { pods: '0' } });
  await c.client.pods.create(ns, pod('p1'));
  await c.client.pods.create(ns, pod('p2'));
  assert.equal((await used(ns, 'compute')).pods, '2', 'charged at admission');
  const err = await rejection(c.client.pods.create(ns, pod('p3')));
  assert.equal(err.code, 403);
  assert.equal(err.reason, 'Forbidden');
  assert.equal(err.message, 'pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');
  await assert.rejects(c.client.pods.get(ns, 'p3'), (e: any) => e.code === 404);

  // Deleting a pod gives its share back (the controller recomputes), and creation works again.
  await c.client.pods.delete(ns, 'p1');
  await waitFor(async () => (await used(ns, 'compute')).pods === '1', 10_000, 'usage down to 1');
  await c.client.pods.create(ns, pod('p3'));
  assert.equal((await used(ns, 'compute')).pods, '2');
});

test('terminal pods do not count toward pods', async () => {
  const ns = await namespace('quota-terminal');
  await quota(ns, 'q', { pods: '1', 'count/pods': '5' });
  await c.client.pods.create(ns, pod('done'));
  await c.client.pods.patch(ns, 'done', { status: { phase: 'Succeeded' } }, 'merge', { subresource: 'status' });
  await waitFor(async () => (await used(ns, 'q')).pods === '0', 10_000, 'terminal pod released');
  assert.equal((await used(ns, 'q'))['count/pods'], '1', 'count/pods counts every stored pod');
  await c.client.pods.create(ns, pod('next'));
});

test('requests.cpu and limits.cpu: containers must state them, and sums are limited', async () => {
  const ns = await namespace('quota-cpu');
  await quota(ns, 'cpu', { 'requests.cpu': '1', 'limits.cpu': '2', 'requests.memory': '1Gi' });
  let err = await rejection(c.client.pods.create(ns, pod('bare')));
  assert.equal(err.code, 403);
  assert.equal(
    err.message,
    'pods "bare" is forbidden: failed quota: cpu: must specify limits.cpu for: app; requests.cpu for: app; requests.memory for: app',
  );
  const res = { requests: { cpu: '600m', memory: '512Mi' }, limits: { cpu: '600m' } };
  await c.client.pods.create(ns, pod('a', res));
  assert.deepEqual(await used(ns, 'cpu'), { 'limits.cpu': '600m', 'requests.cpu': '600m', 'requests.memory': '512Mi' });
  err = await rejection(c.client.pods.create(ns, pod('b', res)));
  assert.equal(err.message, 'pods "b" is forbidden: exceeded quota: cpu, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1');
  await c.client.pods.create(ns, pod('c', { requests: { cpu: '400m', memory: '512Mi' }, limits: { cpu: '1' } }));
  assert.deepEqual(await used(ns, 'cpu'), { 'limits.cpu': '1600m', 'requests.cpu': '1', 'requests.memory': '1Gi' });
  // A dry run is checked but not charged.
  err = await rejection(c.client.pods.create(ns, pod('d', { requests: { cpu: '1m', memory: '1' }, limits: { cpu: '1m' } }), { dryRun: true }));
  assert.match(err.message, /exceeded quota: cpu, requested: requests.cpu=1m,requests.memory=1, used: requests.cpu=1,requests.memory=1Gi, limited: requests.cpu=1,requests.memory=1Gi/);
});

test('concurrent creates never exceed the quota', async () => {
  const ns = await namespace('quota-race');
  await quota(ns, 'q', { pods: '3' });
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => c.client.pods.create(ns, pod(`r${i}`))));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  assert.equal((await c.client.pods.list(ns)).items.length, 3);
  assert.equal((await used(ns, 'q')).pods, '3');
});

test('services, node ports and object counts; UPDATE charges only the increase', async () => {
  const ns = await namespace('quota-svc');
  await quota(ns, 'objs', { services: '2', 'services.nodeports': '1', configmaps: '1', 'count/secrets': '5' });
  await c.client.services.create(ns, { metadata: { name: 's1' }, spec: { ports: [{ port: 80 }] } });
  const err = await rejection(
    c.client.services.create(ns, { metadata: { name: 's2' }, spec: { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } }),
  );
  assert.equal(err.message, 'services "s2" is forbidden: exceeded quota: objs, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1');
  // Turning s1 into a NodePort service takes the one node port.
  await c.client.services.patch(ns, 's1', { spec: { type: 'NodePort' } }, 'merge');
  assert.equal((await used(ns, 'objs'))['services.nodeports'], '1');
  await c.client.configMaps.create(ns, { metadata: { name: 'cm1' } });
  const cmErr = await rejection(c.client.configMaps.create(ns, { metadata: { name: 'cm2' } }));
  assert.match(cmErr.message, /^configmaps "cm2" is forbidden: exceeded quota: objs, requested: configmaps=1, used: configmaps=1, limited: configmaps=1$/);
  await c.client.secrets.create(ns, { metadata: { name: 'sec' } });
  assert.equal((await used(ns, 'objs'))['count/secrets'], '1');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheSnapshot, SchedulerCache } from '../../src/scheduler/cache.js';
import { podInfo } from '../../src/scheduler/framework/node-info.js';

const node = (name: string, zone?: string): any => ({
  metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
  status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
});
const pod = (name: string, nodeName?: string, cpu = "500m"): any => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { nodeName, containers: [{ name: 'c', resources: { requests: { cpu } } }] },
});

test('assume → confirm by the informer; forget undoes', () => {
  const c = new SchedulerCache();
  c.addNode(node('n1'));
  const p = pod('a');
  const assumed = c.assumePod(podInfo(p), 'n1');
  assert.equal(assumed.spec.nodeName, 'n1');
  assert.equal(p.spec.nodeName, undefined, 'the original pod is not modified');
  assert.equal(c.nodeInfo('n1')!.requested.milliCPU, 500);
  assert.ok(c.isAssumed(p));
  assert.throws(() => c.assumePod(podInfo(p), 'n1'), /can't be assumed/);
  c.finishBinding(p);
  c.addPod(pod('a', 'n1'));
  assert.ok(!c.isAssumed(p));
  assert.equal(c.nodeInfo('n1')!.requested.milliCPU, 500);
  assert.equal(c.nodeInfo('n1')!.pods.length, 1);

  const q = pod('b');
  c.assumePod(podInfo(q), 'n1');
  assert.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000);
  c.forgetPod(q);
  assert.equal(c.nodeInfo('n1')!.requested.milliCPU, 500);
  c.removePod(pod('a', 'n1'));
  assert.equal(c.nodeInfo('n1')!.pods.length, 0);
});

test('assumed pods expire after the TTL once binding finished', () => {
  let now = 0;
  const c = new SchedulerCache({ assumedPodTtlMs: 1000, now: () => now });
  c.addNode(node('n1'));
  const p = pod('a');
  c.assumePod(podInfo(p), 'n1');
  now = 5000;
  assert.deepEqual(c.cleanupExpiredAssumedPods(), [], 'no expiry before the binding finished');
  c.finishBinding(p);
  now = 5999;
  assert.equal(c.cleanupExpiredAssumedPods().length, 0);
  now = 6000;
  assert.equal(c.cleanupExpiredAssumedPods().length, 1);
  assert.equal(c.nodeInfo('n1')!.pods.length, 0);
  assert.ok(!c.hasPod(p));
});

test('snapshots update incrementally by generation', () => {
  const c = new SchedulerCache();
  for (let i = 0; i < 5; i++) c.addNode(node(`n${i}`));
  const s = new CacheSnapshot();
  c.updateSnapshot(s);
  assert.equal(s.nodes().length, 5);
  assert.equal(s.generation, c.currentGeneration);
  const before = s.nodes().slice();

  c.addPod(pod('a', 'n2'));
  assert.equal(s.get('n2')!.pods.length, 0, 'the snapshot is a copy');
  c.updateSnapshot(s);
  assert.equal(s.get('n2')!.pods.length, 1);
  for (const n of ['n0', 'n1', 'n3', 'n4']) assert.equal(s.get(n), before.find((b) => b.name === n), `${n} kept (not re-cloned)`);
  assert.notEqual(s.get('n2'), before[2]);
  assert.ok(s.get('n2')!.generation > before[2].generation);

  // Pod with required anti-affinity shows up in the affinity lists.
  const anti = {
    ...pod('anti', 'n3'),
    spec: {
      nodeName: 'n3',
      containers: [{ name: 'c' }],
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' }] } },
    },
  };
  c.addPod(anti);
  c.updateSnapshot(s);
  assert.deepEqual(s.havePodsWithRequiredAntiAffinity().map((n) => n.name), ['n3']);
  assert.deepEqual(s.havePodsWithAffinity().map((n) => n.name), ['n3']);

  c.removeNode(node('n0'));
  c.updateSnapshot(s);
  assert.equal(s.nodes().length, 4);
  assert.equal(s.get('n0'), undefined);
  // No changes: nothing to do.
  const g = s.generation;
  c.updateSnapshot(s);
  assert.equal(s.generation, g);
});

test('pods arriving before their node are kept and attached when it appears; zones interleave', () => {
  const c = new SchedulerCache();
  c.addPod(pod('early', 'late-node'));
  c.addNode(node('late-node'));
  assert.equal(c.nodeInfo('late-node')!.pods.length, 1);

  const z = new SchedulerCache();
  for (const [n, zone] of [['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b'], ['b2', 'b'], ['c1', 'c']]) z.addNode(node(n, zone));
  const s = new CacheSnapshot();
  z.updateSnapshot(s);
  assert.deepEqual(s.nodes().map((n) => n.name), ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
});

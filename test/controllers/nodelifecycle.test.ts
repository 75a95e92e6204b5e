// Node lifecycle + taint eviction: a node whose Lease stops renewing goes Unknown and gets the
// unreachable taints; its pods are marked not ready, evicted at once or after tolerationSeconds;
// a recovering node loses the taints and pending evictions are cancelled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { microTime, type KObject } from '../../src/client/index.js';
import { startControllerEnv as startEnv, waitForIgnoringErrors as waitFor, type ControllerEnv as Env } from './harness.js';
import { NodeLifecycleController } from '../../src/controllers/nodelifecycle/controller.js';
import { TaintEvictionController } from '../../src/controllers/nodelifecycle/taint-eviction.js';
import { ZoneTaintQueue, computeZoneState } from '../../src/controllers/nodelifecycle/zones.js';
import { conditionTaintDiff } from '../../src/controllers/nodelifecycle/taints.js';

const GRACE_MS = 1000;
const NO_MATCH = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Equal', value: 'never', effect: 'NoExecute' }));
const ns = 'nl-test';
let env: Env;
const renewing = new Set<string>();
let heartbeat: NodeJS.Timeout;

before(async () => {
  env = await startEnv(
    [new NodeLifecycleController({ nodeEvictionRate: Infinity, nodeMonitorPeriodMs: 100 }), new TaintEvictionController()],
    { nodeMonitorGracePeriodMs: GRACE_MS },
  );
  await env.client.namespaces.create(null, { metadata: { name: ns } });
  heartbeat = setInterval(() => {
    for (const name of renewing) {
      void env.client.leases.patch('kube-node-lease', name, { spec: { renewTime: microTime() } }, 'merge').catch(() => undefined);
    }
  }, 150);
});
after(async () => {
  clearInterval(heartbeat);
  await env.close();
});

const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

async function postReady(name: string, status: 'True' | 'False') {
  const now = stamp();
  await env.client.nodes.patch(
    null,
    name,
    { status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady', message: 'kubelet', lastHeartbeatTime: now, lastTransitionTime: now }] } },
    'merge',
    { subresource: 'status' },
  );
}

async function addNode(name: string) {
  await env.client.nodes.create(null, { metadata: { name } });
  await postReady(name, 'True');
  await env.client.leases.create('kube-node-lease', {
    metadata: { name },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
  });
  renewing.add(name);
}

async function addPod(name: string, node: string, tolerations?: any[]) {
  await env.client.pods.create(ns, { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'nginx' }], tolerations } });
  await env.client.pods.patch(ns, name, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: stamp() }] } }, 'merge', { subresource: 'status' });
}

async function pod(name: string): Promise<KObject | undefined> {
  try {
    return await env.client.pods.get(ns, name);
  } catch {
    return undefined;
  }
}

const taintsOf = async (node: string) => ((await env.client.nodes.get(null, node)).spec?.taints ?? []).map((t: any) => `${t.key}:${t.effect}`).sort();
const gone = (p: KObject | undefined) => !p || !!p.metadata?.deletionTimestamp;

test('a node whose Lease stops renewing goes Unknown, is tainted, and its pods are evicted as tolerated', async () => {
  await addNode('alive');
  await addNode('dying');
  const unreachable = (seconds?: number) => [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}) }];
  // DefaultTolerationSeconds admission gives toleration-less pods 300 s; a non-matching
  // toleration for the key keeps it from doing so, so this pod tolerates nothing.
  await addPod('no-tol', 'dying', NO_MATCH);
  await addPod('defaulted', 'dying');
  await addPod('tol-2s', 'dying', unreachable(2));
  await addPod('tol-30s', 'dying', unreachable(30));
  await addPod('tol-forever', 'dying', unreachable());
  await addPod('elsewhere', 'alive');
  // Healthy for longer than the grace period: nothing happens.
  await new Promise((r) => setTimeout(r, GRACE_MS * 1.5));
  assert.deepEqual(await taintsOf('dying'), []);

  renewing.delete('dying');
  const node = await waitFor(async () => {
    const n = await env.client.nodes.get(null, 'dying');
    return n.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'Unknown' && n;
  }, 5_000, 'Ready Unknown');
  const ready = node.status!.conditions.find((c: any) => c.type === 'Ready');
  assert.equal(ready.reason, 'NodeStatusUnknown');
  assert.equal(ready.message, 'Kubelet stopped posting node status.');
  assert.ok(node.status!.conditions.some((c: any) => c.type === 'MemoryPressure' && c.reason === 'NodeStatusNeverUpdated'));

  await waitFor(async () => (await taintsOf('dying')).includes('node.kubernetes.io/unreachable:NoExecute'), 5_000, 'NoExecute taint');
  const taintedAt = Date.now();
  await waitFor(async () => (await taintsOf('dying')).includes('node.kubernetes.io/unreachable:NoSchedule'), 5_000, 'NoSchedule taint');

  await waitFor(async () => gone(await pod('no-tol')), 2_000, 'no-tol evicted at once');
  const evicted = await pod('no-tol');
  if (evicted) assert.ok(evicted.status?.conditions?.some((c: any) => c.type === 'DisruptionTarget' && c.reason === 'DeletionByTaintManager'));
  // Marked not ready.
  await waitFor(async () => (await pod('tol-forever'))?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'False', 5_000, 'pods not ready');
  assert.ok(!gone(await pod('tol-2s')), 'tol-2s still there before 2 s');

  await waitFor(async () => gone(await pod('tol-2s')), 5_000, 'tol-2s evicted');
  const after2 = Date.now() - taintedAt;
  assert.ok(after2 >= 1700 && after2 <= 3500, `tol-2s evicted after ${after2} ms`);
  assert.ok(!gone(await pod('tol-forever')));
  assert.ok(!gone(await pod('tol-30s')));
  assert.ok(!gone(await pod('defaulted')), 'admission-defaulted pods get 300 s');
  assert.ok(!gone(await pod('elsewhere')));
  assert.deepEqual(await taintsOf('alive'), []);

  const events = await waitFor(async () => {
    const evs = (await env.client.coreEvents.list(ns)).items.filter((e) => e.reason === 'TaintManagerEviction');
    return evs.length >= 2 && evs;
  }, 5_000, 'eviction events');
  assert.ok(events.some((e) => e.message === `Marking for deletion Pod ${ns}/no-tol`));

  // The kubelet comes back: taints go, the pending 30 s eviction is cancelled.
  renewing.add('dying');
  await postReady('dying', 'True');
  await waitFor(async () => (await taintsOf('dying')).length === 0, 5_000, 'taints removed');
  await waitFor(async () => {
    const evs = (await env.client.coreEvents.list(ns)).items;
    return evs.some((e) => e.reason === 'TaintManagerEviction' && e.message === `Cancelling deletion of Pod ${ns}/tol-30s`);
  }, 5_000, 'cancel event');
  assert.ok(!gone(await pod('tol-30s')));
});

test('a kubelet reporting NotReady gets the not-ready taints; a recovered one loses them', async () => {
  await addNode('sick');
  await addPod('sick-pod', 'sick', NO_MATCH);
  await postReady('sick', 'False');
  await waitFor(async () => {
    const t = await taintsOf('sick');
    return t.includes('node.kubernetes.io/not-ready:NoExecute') && t.includes('node.kubernetes.io/not-ready:NoSchedule');
  }, 5_000, 'not-ready taints');
  await waitFor(async () => gone(await pod('sick-pod')), 3_000, 'sick-pod evicted');
  await postReady('sick', 'True');
  await waitFor(async () => (await taintsOf('sick')).length === 0, 5_000, 'taints removed');
});

test('condition and unschedulable NoSchedule taints (TaintNodesByCondition)', async () => {
  await addNode('pressured');
  const now = stamp();
  await env.client.nodes.patch(
    null,
    'pressured',
    {
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
      },
    },
    'merge',
    { subresource: 'status' },
  );
  await env.client.nodes.patch(null, 'pressured', { spec: { unschedulable: true } }, 'merge');
  await waitFor(async () => {
    const t = await taintsOf('pressured');
    return t.includes('node.kubernetes.io/memory-pressure:NoSchedule') && t.includes('node.kubernetes.io/unschedulable:NoSchedule');
  }, 5_000, 'condition taints');
  await env.client.nodes.patch(null, 'pressured', { spec: { unschedulable: false } }, 'merge');
  await waitFor(async () => !(await taintsOf('pressured')).includes('node.kubernetes.io/unschedulable:NoSchedule'), 5_000, 'unschedulable taint removed');
});

test('all nodes down: no tainting (full disruption)', async () => {
  const solo = await startEnv([]);
  try {
    await solo.run([new NodeLifecycleController({ nodeEvictionRate: Infinity, nodeMonitorPeriodMs: 100 })], { nodeMonitorGracePeriodMs: 500 });
    await solo.client.nodes.create(null, { metadata: { name: 'only' } });
    const now = stamp();
    await solo.client.nodes.patch(null, 'only', { status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now }] } }, 'merge', { subresource: 'status' });
    await waitFor(async () => (await solo.client.nodes.get(null, 'only')).status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'Unknown', 5_000, 'Unknown');
    await new Promise((r) => setTimeout(r, 600));
    const taints = ((await solo.client.nodes.get(null, 'only')).spec?.taints ?? []).map((t: any) => `${t.key}:${t.effect}`);
    assert.ok(!taints.includes('node.kubernetes.io/unreachable:NoExecute'), `taints: ${taints}`);
    assert.ok(taints.includes('node.kubernetes.io/unreachable:NoSchedule'));
  } finally {
    await solo.close();
  }
});

test('zones and the eviction limiter (unit)', () => {
  assert.equal(computeZoneState(['True', 'Unknown'], 0.55), 'Normal');
  assert.equal(computeZoneState(['False', 'Unknown'], 0.55), 'FullDisruption');
  assert.equal(computeZoneState(['True', 'False', 'False', 'Unknown'], 0.55), 'PartialDisruption');
  const q = new ZoneTaintQueue(0.1);
  q.add('a');
  q.add('b');
  assert.deepEqual(q.take(), ['a']);
  assert.deepEqual(q.take(), []);
  q.setQPS(Infinity);
  assert.deepEqual(q.take(), ['b']);
  q.add('c');
  q.setQPS(0);
  assert.deepEqual(q.take(), []);
  const node = { spec: { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'custom', effect: 'NoSchedule' }] }, status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'True' }] } };
  const diff = conditionTaintDiff(node);
  assert.deepEqual(diff.add, [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }]);
  assert.deepEqual(diff.remove, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
});

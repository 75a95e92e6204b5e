// ReplicaSet controller against a real API server: creates and deletes pods to match
// spec.replicas, replaces deleted pods, adopts orphans, releases relabelled pods, reports status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, podsOwnedBy, template, type Cluster } from './deployment-harness.js';
import { enabledControllers, startControllerManager } from '../../src/controllers/manager.js';
import { computeHash } from '../../src/controllers/common/hash.js';
import { compareForDeletion } from '../../src/controllers/common/pods.js';
import { slowStartBatch } from '../../src/controllers/replicaset/controller.js';

let c: Cluster;
const ns = 'rs-test';
before(async () => {
  c = await startCluster();
  await c.client.namespaces.create(null, { metadata: { name: ns } });
});
after(async () => {
  await c.close();
});

const rs = (name: string, replicas: number, app = name) => ({
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app } }, template: template({ app }) },
});

async function statusOf(name: string) {
  return (await c.client.replicaSets.get(ns, name)).status ?? {};
}

test('creates N pods with generateName and a controller ownerReference, and reports status', async () => {
  const created = await c.client.replicaSets.create(ns, rs('web', 3));
  const uid = created.metadata!.uid!;
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 3, 10_000, '3 pods');
  for (const p of podsOwnedBy(c, ns, uid)) {
    assert.match(p.metadata!.name!, /^web-[a-z0-9]{5}$/);
    assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(p.metadata!.labels!.app, 'web');
  }
  const st = await waitFor(async () => {
    const s = await statusOf('web');
    return s.availableReplicas === 3 && s;
  }, 10_000, 'status');
  assert.deepEqual(
    { replicas: st.replicas, fullyLabeledReplicas: st.fullyLabeledReplicas, readyReplicas: st.readyReplicas, availableReplicas: st.availableReplicas, observedGeneration: st.observedGeneration },
    { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 },
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(c.pods.list(ns).filter((p) => p.metadata?.labels?.app === 'web').length, 3, 'never more than 3 pods');
});

test('scales 3 → 10 → 2', async () => {
  const cur = await c.client.replicaSets.get(ns, 'web');
  const uid = cur.metadata!.uid!;
  await c.client.replicaSets.scale(ns, 'web', 10);
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 10, 10_000, '10 pods');
  await waitFor(async () => (await statusOf('web')).readyReplicas === 10, 10_000, '10 ready');
  await c.client.replicaSets.scale(ns, 'web', 2);
  await waitFor(() => c.pods.list(ns).filter((p) => p.metadata?.labels?.app === 'web').length === 2, 10_000, '2 pods');
  const st = await waitFor(async () => {
    const s = await statusOf('web');
    return s.replicas === 2 && s.availableReplicas === 2 && s;
  }, 10_000, 'status 2');
  assert.equal(st.observedGeneration, 3);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(podsOwnedBy(c, ns, uid).length, 2);
});

test('replaces a deleted pod', async () => {
  const uid = (await c.client.replicaSets.get(ns, 'web')).metadata!.uid!;
  const victim = podsOwnedBy(c, ns, uid)[0];
  await c.client.pods.delete(ns, victim.metadata!.name!);
  await waitFor(() => {
    const names = podsOwnedBy(c, ns, uid).map((p) => p.metadata!.name);
    return names.length === 2 && !names.includes(victim.metadata!.name);
  }, 10_000, 'replacement');
});

test('adopts a matching orphan instead of creating, and releases a relabelled pod', async () => {
  const created = await c.client.replicaSets.create(ns, rs('adopt', 2));
  const uid = created.metadata!.uid!;
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 2, 10_000, '2 pods');
  // An orphan with matching labels pushes the count to 3: it is adopted and one pod goes.
  await c.client.pods.create(ns, { metadata: { name: 'orphan', labels: { app: 'adopt' } }, spec: template({}).spec });
  await waitFor(() => {
    const o = c.pods.get(ns, 'orphan');
    return o?.metadata?.ownerReferences?.[0]?.uid === uid;
  }, 10_000, 'adoption');
  await waitFor(() => c.pods.list(ns).filter((p) => p.metadata?.labels?.app === 'adopt').length === 2, 10_000, 'back to 2');

  // Relabelling an owned pod: released (ownerReference removed) and replaced.
  const owned = podsOwnedBy(c, ns, uid)[0];
  await c.client.pods.patch(ns, owned.metadata!.name!, { metadata: { labels: { app: 'elsewhere' } } }, 'merge');
  await waitFor(() => {
    const p = c.pods.get(ns, owned.metadata!.name!);
    return p && !(p.metadata?.ownerReferences ?? []).length;
  }, 10_000, 'release');
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 2, 10_000, 'replacement after release');
  assert.equal(c.pods.get(ns, owned.metadata!.name!)?.metadata?.labels?.app, 'elsewhere');
});

test('minReadySeconds: available only after the pods were ready that long', async () => {
  const obj = rs('slow', 2);
  (obj.spec as any).minReadySeconds = 1;
  await c.client.replicaSets.create(ns, obj);
  await waitFor(async () => (await statusOf('slow')).readyReplicas === 2, 10_000, 'ready');
  assert.ok(((await statusOf('slow')).availableReplicas ?? 0) < 2);
  await waitFor(async () => (await statusOf('slow')).availableReplicas === 2, 10_000, 'available after minReadySeconds');
});

test('helpers: slow start batches, deletion order, hash encoding, --controllers', async () => {
  const sizes: number[] = [];
  let inFlight = 0;
  let calls = 0;
  const r = await slowStartBatch(10, 1, async () => {
    inFlight++;
    const n = ++calls;
    sizes.push(inFlight);
    await new Promise((res) => setTimeout(res, 1));
    inFlight--;
    if (n === 5) throw new Error('boom');
  });
  // Batches of 1, 2, 4: the failure in the third batch stops the rest.
  assert.equal(calls, 7);
  assert.equal(r.successes, 6);
  assert.equal(r.error?.message, 'boom');
  assert.equal(Math.max(...sizes), 4);

  const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
  const pod = (name: string, o: { node?: string; phase?: string; ready?: string; created: number; restarts?: number }) => ({
    metadata: { name, creationTimestamp: t(o.created) },
    spec: { nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: o.ready }] : [],
      containerStatuses: [{ restartCount: o.restarts ?? 0 }],
    },
  });
  const pods = [
    pod('ready-old', { node: 'n', ready: t(1), created: 0 }),
    pod('ready-new', { node: 'n', ready: t(5), created: 0 }),
    pod('unassigned', { phase: 'Pending', created: 0 }),
    pod('pending', { node: 'n', phase: 'Pending', created: 0 }),
    pod('running-notready', { node: 'n', created: 0 }),
    pod('restarty', { node: 'n', ready: t(1), created: 0, restarts: 3 }),
  ];
  assert.deepEqual(pods.sort(compareForDeletion).map((p) => p.metadata.name), ['unassigned', 'pending', 'running-notready', 'ready-new', 'restarty', 'ready-old']);

  const h = computeHash({ spec: { b: 1, a: [1, 2] } });
  assert.equal(h, computeHash({ spec: { a: [1, 2], b: 1 } }), 'key order does not matter');
  assert.notEqual(h, computeHash({ spec: { b: 1, a: [1, 2] } }, 1), 'collision count changes the hash');
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);

  const names = (l: string[]) => enabledControllers(l).map((r) => r.name);
  const all = names(['*']);
  assert.ok(all.includes('replicaset') && all.includes('deployment'));
  assert.ok(!names(['*', '-deployment']).includes('deployment'));
  assert.ok(names(['*', '-deployment']).includes('replicaset'));
  assert.deepEqual(names(['deployment-controller']), ['deployment']);
  assert.throws(() => names(['nope']), /not in the list of known controllers/);
});

test('leader election: the manager holds Lease kube-system/kube-controller-manager and releases it on stop', async () => {
  const m = await startControllerManager({
    client: c.client,
    controllers: [],
    leaderElect: true,
    identity: 'cm-test-1',
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 100,
  });
  const lease = await waitFor(async () => {
    const l = await c.client.leases.get('kube-system', 'kube-controller-manager').catch(() => undefined);
    return l?.spec?.holderIdentity === 'cm-test-1' && l;
  }, 5000, 'lease held');
  assert.equal(lease.spec.leaseDurationSeconds, 2);
  await m.stop();
  const after = await c.client.leases.get('kube-system', 'kube-controller-manager');
  assert.equal(after.spec.holderIdentity ?? '', '');
});

// Garbage collector against a real API server: background, foreground and orphan cascading
// deletion, owners gone by uid, invalid cross-namespace owners, cluster-scoped owners, a real
// Deployment → ReplicaSet → Pod chain, and the graph's cost at 10,000 pods.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, OwnerReference } from '../../src/api/types.js';
import { GarbageCollector } from '../../src/controllers/garbage-collector/controller.js';
import { GraphBuilder } from '../../src/controllers/garbage-collector/graph-builder.js';
import type { GraphNode } from '../../src/controllers/garbage-collector/graph.js';
import type { DiscoveredResource } from '../../src/controllers/garbage-collector/discovery.js';
import { startEnv, waitFor, gone, podSpec, type Env } from './garbage-collector-harness.js';

let env: Env;
const ns = 'gc-test';
before(async () => {
  env = await startEnv([new GarbageCollector({ discoveryPeriodMs: 1000 })]);
  await env.client.namespaces.create(null, { metadata: { name: ns } });
  await env.client.namespaces.create(null, { metadata: { name: 'gc-other' } });
});
after(async () => {
  await env?.close();
});

const refTo = (o: KObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: o.apiVersion!,
  kind: o.kind!,
  name: o.metadata!.name!,
  uid: o.metadata!.uid!,
  ...extra,
});
const cm = (name: string, owners: OwnerReference[] = [], extra: Record<string, unknown> = {}) =>
  env.client.configMaps.create(ns, { metadata: { name, ...(owners.length ? { ownerReferences: owners } : {}), ...extra }, data: { k: 'v' } });
const cmGone = (name: string, namespace = ns) => gone(() => env.client.configMaps.get(namespace, name));

test('background: dependents of a deleted owner are deleted', async () => {
  const owner = await cm('bg-owner');
  await cm('bg-dep-1', [refTo(owner)]);
  await env.client.secrets.create(ns, { metadata: { name: 'bg-dep-2', ownerReferences: [refTo(owner)] }, stringData: { a: 'b' } });
  const keep = await cm('bg-other-owner');
  await cm('bg-two-owners', [refTo(owner), refTo(keep)]);
  await env.client.configMaps.delete(ns, 'bg-owner', { propagationPolicy: 'Background' });
  await waitFor(() => cmGone('bg-dep-1'), 10_000, 'configmap dependent deleted');
  await waitFor(() => gone(() => env.client.secrets.get(ns, 'bg-dep-2')), 10_000, 'secret dependent deleted');
  // An object with another live owner survives; the dangling reference is removed.
  const two = await waitFor(async () => {
    const o = await env.client.configMaps.get(ns, 'bg-two-owners');
    return o.metadata?.ownerReferences?.length === 1 ? o : undefined;
  }, 10_000, 'dangling reference dropped');
  assert.equal(two.metadata!.ownerReferences![0].uid, keep.metadata!.uid);
});

test('background: deployment → replicaset → pods created by hand', async () => {
  const d = await env.client.deployments.create(ns, {
    metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  });
  const rs = await env.client.replicaSets.create(ns, {
    metadata: { name: 'web-abc', labels: { app: 'web' }, ownerReferences: [refTo(d, { controller: true, blockOwnerDeletion: true })] },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  });
  for (const i of [1, 2])
    await env.client.pods.create(ns, {
      metadata: { name: `web-abc-${i}`, labels: { app: 'web' }, ownerReferences: [refTo(rs, { controller: true, blockOwnerDeletion: true })] },
      spec: podSpec,
    });
  await env.client.deployments.delete(ns, 'web', { propagationPolicy: 'Background' });
  await waitFor(() => gone(() => env.client.replicaSets.get(ns, 'web-abc')), 10_000, 'replicaset deleted');
  await waitFor(async () => (await env.client.pods.list(ns, { labelSelector: 'app=web' })).items.length === 0, 10_000, 'pods deleted');
});

test('foreground: dependents go first, blocking ones hold the owner, then the owner goes', async () => {
  const owner = await cm('fg-owner');
  await cm('fg-free', [refTo(owner)]);
  // Held by a finalizer, so the owner must wait for it.
  await cm('fg-held', [refTo(owner, { blockOwnerDeletion: true })], { finalizers: ['test.skiff.io/hold'] });
  await env.client.configMaps.delete(ns, 'fg-owner', { propagationPolicy: 'Foreground' });
  await waitFor(() => cmGone('fg-free'), 10_000, 'non-blocking dependent deleted');
  const held = await waitFor(async () => {
    const o = await env.client.configMaps.get(ns, 'fg-held');
    return o.metadata?.deletionTimestamp ? o : undefined;
  }, 10_000, 'blocking dependent being deleted');
  const o = await env.client.configMaps.get(ns, 'fg-owner');
  assert.ok(o.metadata?.deletionTimestamp);
  assert.deepEqual(o.metadata?.finalizers, ['foregroundDeletion']);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await cmGone('fg-owner'), false, 'owner waits for its blocking dependent');
  await env.client.configMaps.patch(ns, 'fg-held', { metadata: { finalizers: null, resourceVersion: held.metadata!.resourceVersion } }, 'merge');
  await waitFor(() => cmGone('fg-held'), 10_000, 'blocking dependent gone');
  await waitFor(() => cmGone('fg-owner'), 10_000, 'owner deleted after its dependents');
});

test('foreground: deployment chain, owner last', async () => {
  const d = await env.client.deployments.create(ns, {
    metadata: { name: 'fg-web' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'fg-web' } }, template: { metadata: { labels: { app: 'fg-web' } }, spec: podSpec } },
  });
  const rs = await env.client.replicaSets.create(ns, {
    metadata: { name: 'fg-web-1', labels: { app: 'fg-web' }, ownerReferences: [refTo(d, { controller: true, blockOwnerDeletion: true })] },
    spec: { replicas: 1, selector: { matchLabels: { app: 'fg-web' } }, template: { metadata: { labels: { app: 'fg-web' } }, spec: podSpec } },
  });
  await env.client.pods.create(ns, {
    metadata: { name: 'fg-web-1-a', labels: { app: 'fg-web' }, ownerReferences: [refTo(rs, { controller: true, blockOwnerDeletion: true })] },
    spec: podSpec,
  });
  await env.client.deployments.delete(ns, 'fg-web', { propagationPolicy: 'Foreground' });
  await waitFor(() => gone(() => env.client.deployments.get(ns, 'fg-web')), 10_000, 'deployment deleted');
  assert.ok(await gone(() => env.client.replicaSets.get(ns, 'fg-web-1')));
  assert.ok(await gone(() => env.client.pods.get(ns, 'fg-web-1-a')));
});

test('orphan: dependents stay, without the reference to the owner', async () => {
  const owner = await cm('or-owner');
  const other = await cm('or-other');
  await cm('or-dep-1', [refTo(owner, { controller: true, blockOwnerDeletion: true })]);
  await cm('or-dep-2', [refTo(owner), refTo(other)]);
  await env.client.configMaps.delete(ns, 'or-owner', { propagationPolicy: 'Orphan' });
  await waitFor(() => cmGone('or-owner'), 10_000, 'owner deleted');
  const d1 = await env.client.configMaps.get(ns, 'or-dep-1');
  assert.equal(d1.metadata?.ownerReferences, undefined);
  const d2 = await env.client.configMaps.get(ns, 'or-dep-2');
  assert.deepEqual(d2.metadata?.ownerReferences?.map((r) => r.uid), [other.metadata!.uid]);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await cmGone('or-dep-1'), false);
});

test('an owner replaced under the same name (uid mismatch) counts as gone; a missing owner too', async () => {
  const first = await cm('uid-owner');
  await env.client.configMaps.delete(ns, 'uid-owner');
  await cm('uid-owner'); // a new object, new uid
  await cm('uid-dep', [refTo(first)]);
  await cm('missing-dep', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'never-existed', uid: '00000000-0000-0000-0000-000000000001' }]);
  await waitFor(() => cmGone('uid-dep'), 10_000, 'dependent of replaced owner deleted');
  await waitFor(() => cmGone('missing-dep'), 10_000, 'dependent of missing owner deleted');
  assert.equal(await cmGone('uid-owner'), false);
});

test('cluster-scoped owner of a namespaced dependent', async () => {
  const cr = await env.client.clusterRoles.create(null, { metadata: { name: 'gc-test-owner' }, rules: [] });
  await cm('cluster-owned', [refTo(cr)]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await cmGone('cluster-owned'), false, 'a live cluster-scoped owner is valid');
  await env.client.clusterRoles.delete(null, 'gc-test-owner');
  await waitFor(() => cmGone('cluster-owned'), 10_000, 'dependent of deleted cluster-scoped owner deleted');
});

test('a namespaced owner in another namespace is absent, with an OwnerRefInvalidNamespace event', async () => {
  const owner = await env.client.configMaps.create('gc-other', { metadata: { name: 'xns-owner' }, data: {} });
  const dep = await cm('xns-dep', [refTo(owner)]);
  const sameNs = await env.client.configMaps.create('gc-other', { metadata: { name: 'xns-ok', ownerReferences: [refTo(owner)] }, data: {} });
  await waitFor(() => cmGone('xns-dep'), 10_000, 'cross-namespace dependent deleted');
  const ev = await waitFor(async () => {
    const list = await env.client.events.list(ns, { fieldSelector: 'reason=OwnerRefInvalidNamespace' });
    return list.items.find((e) => e.regarding?.name === 'xns-dep');
  }, 10_000, 'OwnerRefInvalidNamespace event');
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.regarding.uid, dep.metadata!.uid);
  assert.equal(ev.note, `ownerRef [v1/ConfigMap, namespace: ${ns}, name: xns-owner, uid: ${owner.metadata!.uid}] does not exist in namespace "${ns}"`);
  assert.equal(await gone(() => env.client.configMaps.get('gc-other', 'xns-ok')), false);
  assert.equal(sameNs.metadata?.ownerReferences?.length, 1);
});

test('graph: 10,000 pods in and one owner out without full scans', () => {
  const queued: GraphNode[] = [];
  const handlers = new Map<string, any>();
  const fakeFactory: any = {
    informer: (r: DiscoveredResource) => ({
      addEventHandler: (h: any) => {
        handlers.set(r.plural, h);
        return { remove() {} };
      },
      get: () => undefined,
      hasSynced: () => true,
      waitForSync: async () => true,
    }),
    start() {},
  };
  const graph = new GraphBuilder(fakeFactory, { attemptToDelete: (n) => queued.push(n), attemptToOrphan: () => {} });
  const res = (group: string, plural: string, kind: string): DiscoveredResource => ({ group, version: 'v1', plural, kind, namespaced: true, verbs: ['list', 'watch', 'delete'], preferred: true });
  graph.syncMonitors([res('', 'pods', 'Pod'), res('apps', 'replicasets', 'ReplicaSet')]);
  const owners: KObject[] = [];
  for (let i = 0; i < 10; i++) {
    const rs = { metadata: { name: `rs-${i}`, namespace: 'n', uid: `rs-uid-${i}`, resourceVersion: '1' } };
    owners.push(rs);
    handlers.get('replicasets').onAdd(rs, true);
  }
  const start = performance.now();
  for (let i = 0; i < 10_000; i++) {
    const owner = owners[i % 10];
    handlers.get('pods').onAdd(
      {
        metadata: {
          name: `p-${i}`,
          namespace: 'n',
          uid: `pod-uid-${i}`,
          resourceVersion: '1',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.metadata!.name, uid: owner.metadata!.uid, controller: true }],
        },
      },
      true,
    );
  }
  // Updates that do not touch ownerReferences are cheap too.
  for (let i = 0; i < 10_000; i++) {
    const old = { metadata: { name: `p-${i}`, namespace: 'n', uid: `pod-uid-${i}`, resourceVersion: '1' } };
    const owner = owners[i % 10];
    const obj = { metadata: { ...old.metadata, resourceVersion: '2', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.metadata!.name, uid: owner.metadata!.uid, controller: true }] } };
    handlers.get('pods').onUpdate(old, obj);
  }
  const elapsed = performance.now() - start;
  assert.equal(graph.uidToNode.size, 10_010);
  assert.equal(queued.length, 0, 'nothing to collect while every owner exists');
  assert.equal(graph.uidToNode.get('rs-uid-3')!.dependents.size, 1000);
  handlers.get('replicasets').onDelete(owners[3]);
  assert.equal(queued.length, 1000, "only the deleted owner's dependents are queued");
  assert.ok(queued.every((n) => n.owners[0].uid === 'rs-uid-3'));
  assert.ok(elapsed < 2000, `graph updates took ${elapsed.toFixed(0)} ms`);
});

test('collects 3,000 pods of one deleted owner', async () => {
  const n = 3000;
  const owner = await env.client.replicaSets.create(ns, {
    metadata: { name: 'big' },
    spec: { replicas: 0, selector: { matchLabels: { big: 'yes' } }, template: { metadata: { labels: { big: 'yes' } }, spec: podSpec } },
  });
  const ref = refTo(owner, { controller: true, blockOwnerDeletion: true });
  for (let i = 0; i < n; i += 100)
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, j) =>
        env.client.pods.create(ns, { metadata: { name: `big-${i + j}`, labels: { big: 'yes' }, ownerReferences: [ref] }, spec: podSpec }),
      ),
    );
  const start = performance.now();
  await env.client.replicaSets.delete(ns, 'big', { propagationPolicy: 'Background' });
  await waitFor(async () => (await env.client.pods.list(ns, { labelSelector: 'big=yes', limit: 1 })).items.length === 0, 20_000, 'all pods collected');
  assert.ok(performance.now() - start < 20_000);
});

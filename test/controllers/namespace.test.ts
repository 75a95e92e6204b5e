// Namespace controller (with the garbage collector) against a real API server: `kubectl delete
// namespace` empties the namespace of every kind of object and completes; finalizers and
// gracefully terminating pods hold the namespace, reported in its status conditions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/api/types.js';
import { NamespaceController } from '../../src/controllers/namespace/controller.js';
import { GarbageCollector } from '../../src/controllers/garbage-collector/controller.js';
import { startEnv, waitFor, gone, podSpec, type Env } from './garbage-collector-harness.js';

let env: Env;
before(async () => {
  env = await startEnv([new NamespaceController({ maxRequeueMs: 200, minRequeueMs: 50 }), new GarbageCollector()]);
});
after(async () => {
  await env?.close();
});

const ref = (o: KObject) => ({ apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, uid: o.metadata!.uid!, controller: true, blockOwnerDeletion: true });
const condition = (ns: KObject, type: string) => (ns.status?.conditions ?? []).find((c: any) => c.type === type);

test('kubectl delete namespace removes everything in it, then the namespace', async () => {
  const ns = 'doomed';
  const c = env.client;
  await c.namespaces.create(null, { metadata: { name: ns } });
  await c.configMaps.create(ns, { metadata: { name: 'cfg' }, data: { a: '1' } });
  await c.secrets.create(ns, { metadata: { name: 'sec' }, stringData: { p: 'w' } });
  await c.services.create(ns, { metadata: { name: 'svc' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  await c.serviceAccounts.create(ns, { metadata: { name: 'robot' } });
  await c.roles.create(ns, { metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
  await c.leases.create(ns, { metadata: { name: 'lock' }, spec: { holderIdentity: 'x' } });
  const d = await c.deployments.create(ns, {
    metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  });
  const rs = await c.replicaSets.create(ns, {
    metadata: { name: 'web-1', labels: { app: 'web' }, ownerReferences: [ref(d)] },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  });
  for (const i of [1, 2]) await c.pods.create(ns, { metadata: { name: `web-1-${i}`, labels: { app: 'web' }, ownerReferences: [ref(rs)] }, spec: podSpec });
  await c.jobs.create(ns, {
    metadata: { name: 'once' },
    spec: { template: { metadata: { labels: { job: 'once' } }, spec: { ...podSpec, restartPolicy: 'Never' } } },
  });

  const r = await env.kubectl('delete', 'namespace', ns, '--timeout=20s');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `namespace "${ns}" deleted`);
  assert.ok(await gone(() => c.namespaces.get(null, ns)));
  const get = await env.kubectl('get', 'namespace', ns);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, new RegExp(`namespaces "${ns}" not found`));
  for (const rc of [c.configMaps, c.secrets, c.services, c.pods, c.replicaSets, c.deployments, c.jobs, c.roles, c.leases, c.serviceAccounts])
    assert.equal((await rc.list(ns)).items.length, 0, `${rc.gvr.plural} left in ${ns}`);
});

test('finalizers on content hold the namespace, with conditions saying why', async () => {
  const ns = 'held';
  const c = env.client;
  await c.namespaces.create(null, { metadata: { name: ns } });
  await c.configMaps.create(ns, { metadata: { name: 'stuck', finalizers: ['example.com/hold'] }, data: {} });
  await c.configMaps.create(ns, { metadata: { name: 'plain' }, data: {} });
  await c.namespaces.delete(null, ns);
  const terminating = await waitFor(async () => {
    const o = await c.namespaces.get(null, ns);
    return condition(o, 'NamespaceFinalizersRemaining')?.status === 'True' ? o : undefined;
  }, 10_000, 'finalizers-remaining condition');
  assert.equal(terminating.status.phase, 'Terminating');
  assert.deepEqual(terminating.spec.finalizers, ['kubernetes']);
  const content = condition(terminating, 'NamespaceContentRemaining');
  assert.equal(content.reason, 'SomeResourcesRemain');
  assert.equal(content.message, 'Some resources are remaining: configmaps. has 1 resource instances');
  const fin = condition(terminating, 'NamespaceFinalizersRemaining');
  assert.equal(fin.reason, 'SomeFinalizersRemain');
  assert.equal(fin.message, 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances');
  const disc = condition(terminating, 'NamespaceDeletionDiscoveryFailure');
  assert.deepEqual([disc.status, disc.reason, disc.message], ['False', 'ResourcesDiscovered', 'All resources successfully discovered']);
  assert.equal(condition(terminating, 'NamespaceDeletionContentFailure').reason, 'ContentDeleted');
  assert.ok(await gone(() => c.configMaps.get(ns, 'plain')));

  // New content is refused while terminating.
  await assert.rejects(c.configMaps.create(ns, { metadata: { name: 'late' }, data: {} }), /being terminated/);

  await c.configMaps.patch(ns, 'stuck', { metadata: { finalizers: null } }, 'merge');
  await waitFor(() => gone(() => c.namespaces.get(null, ns)), 10_000, 'namespace gone once the finalizer is removed');
});

test('a pod terminating on a node holds the namespace until the kubelet lets it go', async () => {
  const ns = 'graceful';
  const c = env.client;
  await c.namespaces.create(null, { metadata: { name: ns } });
  await c.pods.create(ns, { metadata: { name: 'bound' }, spec: { ...podSpec, nodeName: 'node-1', terminationGracePeriodSeconds: 30 } });
  await c.pods.create(ns, { metadata: { name: 'unbound' }, spec: podSpec });
  await c.namespaces.delete(null, ns);
  await waitFor(() => gone(() => c.pods.get(ns, 'unbound')), 10_000, 'unscheduled pod deleted at once');
  const pod = await waitFor(async () => {
    const p = await c.pods.get(ns, 'bound');
    return p.metadata?.deletionTimestamp ? p : undefined;
  }, 10_000, 'bound pod terminating');
  assert.equal(pod.metadata!.deletionGracePeriodSeconds, 30);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await gone(() => c.namespaces.get(null, ns)), false, 'namespace waits for the terminating pod');
  const o = await c.namespaces.get(null, ns);
  assert.equal(condition(o, 'NamespaceContentRemaining')?.message, 'Some resources are remaining: pods. has 1 resource instances');
  // The kubelet's final delete.
  await c.pods.delete(ns, 'bound', { gracePeriodSeconds: 0 });
  await waitFor(() => gone(() => c.namespaces.get(null, ns)), 10_000, 'namespace gone after the pod');
});

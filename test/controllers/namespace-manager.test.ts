// The namespace controller and garbage collector run by the controller manager next to the
// ReplicaSet and Deployment controllers, driven by kubectl: `kubectl delete deployment`
// cascades through the garbage collector, `kubectl delete namespace` completes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from './deployment-harness.js';
import { gone } from './garbage-collector-harness.js';

let c: Cluster;
before(async () => {
  c = await startCluster({ controllers: ['replicaset', 'deployment', 'namespace', 'garbage-collector-controller', 'pod-garbage-collector'] });
});
after(async () => {
  await c?.close();
});

test('kubectl delete deployment cascades; kubectl delete namespace completes', async () => {
  const ns = 'mgr';
  let r = await c.kubectl('create', 'namespace', ns);
  assert.equal(r.code, 0, r.stderr);
  r = await c.kubectl('create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  r = await c.kubectl('create', 'deployment', 'api', '--image=nginx:1.25', '--replicas=2', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await c.client.pods.list(ns)).items.length === 5, 10_000, '5 pods');

  r = await c.kubectl('delete', 'deployment', 'web', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await c.client.pods.list(ns, { labelSelector: 'app=web' })).items.length === 0, 10_000, 'web pods collected');
  assert.equal((await c.client.replicaSets.list(ns, { labelSelector: 'app=web' })).items.length, 0);
  assert.equal((await c.client.pods.list(ns, { labelSelector: 'app=api' })).items.length, 2);

  r = await c.kubectl('delete', 'deployment', 'api', '-n', ns, '--cascade=foreground');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => gone(() => c.client.deployments.get(ns, 'api')), 10_000, 'api deployment deleted');
  assert.equal((await c.client.pods.list(ns)).items.length, 0, 'foreground: pods went before the deployment');

  await c.kubectl('create', 'deployment', 'last', '--image=nginx:1.25', '--replicas=2', '-n', ns);
  await c.kubectl('create', 'configmap', 'cfg', '--from-literal=a=b', '-n', ns);
  r = await c.kubectl('delete', 'namespace', ns);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await gone(() => c.client.namespaces.get(null, ns)));
});

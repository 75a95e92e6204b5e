// ReplicationController: the core/v1 API (defaults, validation, table, scale) and the
// controller (the ReplicaSet controller over RCs) creating, replacing and scaling pods.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, podsOwnedBy, type Cluster } from './deployment-harness.js';
import { REPLICATION_CONTROLLERS } from '../../src/controllers/replicationcontroller/controller.js';
import type { KObject, ResourceClient } from '../../src/client/index.js';

let c: Cluster;
let rcs: ResourceClient;
const ns = 'rc-test';
before(async () => {
  c = await startCluster({ controllers: ['replicationcontroller'] });
  rcs = c.client.resource(REPLICATION_CONTROLLERS);
  await c.client.namespaces.create(null, { metadata: { name: ns } });
});
after(async () => {
  await c.close();
});

const rc = (name: string, replicas: number): KObject => ({
  metadata: { name },
  spec: { replicas, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } } },
});

test('defaults the selector and labels from the template; validates', async () => {
  const created = await rcs.create(ns, rc('web', 3));
  assert.deepEqual(created.spec.selector, { app: 'web' });
  assert.deepEqual(created.metadata!.labels, { app: 'web' });
  assert.equal(created.metadata!.generation, 1);
  await assert.rejects(
    rcs.create(ns, { metadata: { name: 'bad' }, spec: { selector: { app: 'x' }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'a', image: 'i' }] } } } }),
    (e: any) => e.code === 422 && /spec.template.metadata.labels: Invalid value: .*`selector` does not match template `labels`/.test(e.message),
  );
});

test('creates, replaces and scales pods; status; kubectl get rc', async () => {
  const uid = (await rcs.get(ns, 'web')).metadata!.uid!;
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 3, 10_000, '3 pods');
  for (const p of podsOwnedBy(c, ns, uid)) {
    assert.deepEqual(p.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid, controller: true, blockOwnerDeletion: true }]);
  }
  await waitFor(async () => (await rcs.get(ns, 'web')).status?.readyReplicas === 3, 10_000, 'ready 3');

  const victim = podsOwnedBy(c, ns, uid)[0].metadata!.name!;
  await c.client.pods.delete(ns, victim);
  await waitFor(() => {
    const names = podsOwnedBy(c, ns, uid).map((p) => p.metadata!.name);
    return names.length === 3 && !names.includes(victim);
  }, 10_000, 'replacement');

  const scale = await rcs.scale(ns, 'web', 5);
  assert.equal(scale.spec.replicas, 5);
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 5, 10_000, '5 pods');
  await rcs.scale(ns, 'web', 1);
  await waitFor(() => podsOwnedBy(c, ns, uid).length === 1, 10_000, '1 pod');
  const st = await waitFor(async () => {
    const s = (await rcs.get(ns, 'web')).status;
    return s?.replicas === 1 && s?.readyReplicas === 1 && s;
  }, 10_000, 'status 1');
  assert.equal(st.observedGeneration, 3);

  const out = await c.kubectl('get', 'rc', '-n', ns, '-o', 'wide');
  assert.equal(out.code, 0, out.stderr);
  const [header, row] = out.stdout.trim().split('\n');
  assert.match(header, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
  assert.match(row, /^web\s+1\s+1\s+1\s+\S+\s+app\s+nginx:1.25\s+app=web$/);
});

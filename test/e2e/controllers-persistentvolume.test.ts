// PersistentVolumes end to end on hollow nodes, driven by the real kubectl: `skiff server
// --disable-agent` (scheduler and controller manager in-process, the persistentvolume-binder
// among the controllers) and three simulated nodes.
//   - a StatefulSet with volumeClaimTemplates and no storageClassName: the DefaultStorageClass
//     admission gives its claims the default class local-path (skiff.io/host-path, which `skiff server`
//     creates at startup), the scheduler picks a node (selected-node), the provisioner makes a
//     hostPath volume pinned to that node, the binder binds it, the pods run; `kubectl get pv,pvc`
//     shows every pair Bound; deleting a claim deletes its volume (reclaim Delete)
//   - a static volume and an Immediate claim of class "": bound by the binder alone
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { startHollow, type Hollow } from '../helpers/hollow.js';
import { waitUntil } from './util.js';

const NS = 'pv-e2e';
const NODES = ['hollow-node-0', 'hollow-node-1', 'hollow-node-2'];

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata:
  name: ${NS}
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: ${NS}
spec:
  clusterIP: None
  selector:
    app: db
  ports:
    - port: 5432
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: ${NS}
spec:
  serviceName: db
  replicas: 3
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
        - name: postgres
          image: postgres:16
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 1Gi
`;

const STATIC = `
apiVersion: v1
kind: PersistentVolume
metadata:
  name: static-5g
spec:
  capacity:
    storage: 5Gi
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /tmp/static-5g
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: manual
  namespace: ${NS}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 2Gi
`;

describe('PersistentVolume binder and host-path provisioner on hollow nodes (kubectl)', { concurrency: 1 }, () => {
  let s: TestServer;
  let hollow: Hollow | undefined;

  const json = async (...args: string[]) => JSON.parse(await s.k(...args, '-o', 'json'));

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-dns'] });
    hollow = await startHollow(s.kubeconfig, ['--count', String(NODES.length)]);
  });

  after(async () => {
    await hollow?.kill();
    await s?.stop();
  });

  it('a StatefulSet with volumeClaimTemplates gets its claims provisioned on the pods\' nodes and Bound', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: MANIFESTS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(await s.k('rollout', 'status', 'statefulset/db', '-n', NS, '--timeout=90s'), /roll out complete|partitioned roll out complete/);

    const pods = (await json('get', 'pods', '-n', NS, '-l', 'app=db')).items;
    const claims = (await json('get', 'pvc', '-n', NS)).items;
    assert.deepEqual(claims.map((c: any) => c.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
    for (const pod of pods) {
      assert.equal(pod.status.phase, 'Running', pod.metadata.name);
      const claim = claims.find((c: any) => c.metadata.name === `data-${pod.metadata.name}`);
      assert.equal(claim.spec.storageClassName, 'local-path', 'the default class, from admission');
      assert.equal(claim.status.phase, 'Bound');
      assert.equal(claim.metadata.annotations['volume.kubernetes.io/selected-node'], pod.spec.nodeName);
      assert.equal(claim.metadata.annotations['pv.kubernetes.io/bind-completed'], 'yes');
      const pv = await json('get', 'pv', claim.spec.volumeName);
      assert.equal(pv.status.phase, 'Bound');
      assert.equal(pv.spec.claimRef.uid, claim.metadata.uid);
      assert.equal(pv.spec.hostPath.path, join(s.dataDir, 'storage', pv.metadata.name));
      assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [pod.spec.nodeName]);
    }

    // kubectl's table: every volume and claim Bound, the claim's class and capacity shown.
    const table = await s.k('get', 'pv,pvc', '-n', NS);
    const rows = table.split('\n').filter((l) => /^(persistentvolume|persistentvolumeclaim)\//.test(l));
    assert.equal(rows.filter((l) => l.startsWith('persistentvolume/')).length, 3, table);
    assert.equal(rows.filter((l) => l.startsWith('persistentvolumeclaim/')).length, 3, table);
    for (const row of rows) assert.match(row, /\sBound\s/, row);
    for (const row of rows.filter((l) => l.startsWith('persistentvolumeclaim/'))) assert.match(row, /\s1Gi\s+RWO\s+local-path\s/, row);
  });

  it('deleting a released claim deletes its provisioned volume (reclaim Delete)', async () => {
    await s.k('scale', 'statefulset/db', '-n', NS, '--replicas=2');
    await waitUntil(async () => (await json('get', 'pods', '-n', NS, '-l', 'app=db')).items.length === 2, 'db-2 gone', 30_000, 200);
    const volume = (await json('get', 'pvc', 'data-db-2', '-n', NS)).spec.volumeName;
    await s.k('delete', 'pvc', 'data-db-2', '-n', NS);
    await waitUntil(async () => (await s.kubectl(['get', 'pv', volume])).code !== 0, `${volume} deleted`, 20_000, 200);
  });

  it('a static volume and an Immediate claim of class "" are bound by the binder', async () => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: STATIC });
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(async () => (await json('get', 'pvc', 'manual', '-n', NS)).status?.phase === 'Bound', 'manual Bound', 20_000, 200);
    const claim = await json('get', 'pvc', 'manual', '-n', NS);
    assert.equal(claim.spec.volumeName, 'static-5g');
    assert.deepEqual(claim.status.capacity, { storage: '5Gi' });
    assert.match(await s.k('get', 'pv', 'static-5g'), /static-5g\s+5Gi\s+RWO\s+Retain\s+Bound\s+pv-e2e\/manual\s/);
  });
});

// Persistent volumes on one real node: `skiff server` with its agent creates the default
// local-path StorageClass; a StatefulSet's volumeClaimTemplate claims get hostPath volumes
// provisioned under <data-dir>/storage on the node the scheduler picked, the kubelet mounts
// them, data outlives the pod, and deleting the claim deletes the volume (reclaim Delete).
// Also: a pod whose claim is missing waits in ContainerCreating with FailedMount, then starts
// once the claim is bound to a pre-created volume.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { nodeE2eSkipReason, sleep, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';

function podRunning(p: any): boolean {
  return p?.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.state?.running);
}

const statefulSet = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: {
    serviceName: 'web',
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      },
    },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } }],
  },
});

describe('worker node: persistent volumes', { skip, timeout: 300_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;
  let staticDir = '';

  const getJson = async (...args: string[]) => JSON.parse(await s.k('get', ...args, '-o', 'json'));
  const apply = async (manifest: object) => {
    const r = await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const waitRunning = (name: string, notUid?: string, timeoutMs = 90_000) =>
    until(`pod ${name} Running`, async () => {
      const p = await getJson('pod', name);
      return podRunning(p) && p.metadata.uid !== notUid ? p : undefined;
    }, timeoutMs);

  before(async () => {
    cluster = await startNodeCluster({ nodeName: 'skiff-e2e-node' });
    s = cluster.server;
    staticDir = mkdtempSync(join(tmpdir(), 'skiff-pv-e2e-'));
  });

  after(async () => {
    if (!cluster) return;
    const report = await cluster.cleanup();
    if (staticDir) rmSync(staticDir, { recursive: true, force: true });
    if (report.errors.length || report.podsLeft.length || report.killed.length) console.log('node cleanup report:', JSON.stringify(report));
  });

  it('the server created the default local-path StorageClass', async () => {
    const sc = await getJson('storageclass', 'local-path');
    assert.equal(sc.provisioner, 'skiff.io/host-path');
    assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');
    assert.equal(sc.reclaimPolicy, 'Delete');
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
  });

  it('StatefulSet claims are provisioned and bound; data survives the pod; deleting the claim deletes the volume', async () => {
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await apply(statefulSet(2));
    const web0 = await waitRunning('web-0');
    await waitRunning('web-1');

    const storageDir = join(s.dataDir, 'storage');
    const volumes = new Map<string, any>();
    for (const name of ['data-web-0', 'data-web-1']) {
      const pvc = await getJson('pvc', name);
      assert.equal(pvc.spec.storageClassName, 'local-path', 'the default class was filled in');
      assert.equal(pvc.status.phase, 'Bound', name);
      assert.equal(pvc.metadata.annotations['volume.kubernetes.io/selected-node'], cluster.nodeName);
      const pv = await getJson('pv', pvc.spec.volumeName);
      assert.equal(pv.status.phase, 'Bound');
      assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
      assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
      assert.equal(pv.spec.hostPath.path, join(storageDir, pv.metadata.name));
      volumes.set(name, pv);
    }

    // Pod 0 writes into its volume: the file lands in the volume's directory on the host.
    await s.k('exec', 'web-0', '--', 'sh', '-c', 'echo persisted by web-0 > /data/hello');
    const dir0 = volumes.get('data-web-0').spec.hostPath.path;
    assert.equal(readFileSync(join(dir0, 'hello'), 'utf8'), 'persisted by web-0\n');
    assert.equal(statSync(dir0).mode & 0o777, 0o777, 'created world-writable, as k3s local-path does');
    assert.equal((await s.kubectl(['exec', 'web-1', '--', 'cat', '/data/hello'])).code === 0, false, "web-1 has a volume of its own");

    // The recreated pod 0 mounts the same claim and reads the file.
    await s.k('delete', 'pod', 'web-0', '--wait=false');
    await waitRunning('web-0', web0.metadata.uid);
    assert.equal(await s.k('exec', 'web-0', '--', 'cat', '/data/hello'), 'persisted by web-0\n');

    const table = await s.k('get', 'pv,pvc');
    for (const name of ['data-web-0', 'data-web-1']) {
      const pvName = volumes.get(name).metadata.name;
      assert.match(table, new RegExp(`persistentvolume/${pvName}\\s+16Mi\\s+RWO\\s+Delete\\s+Bound\\s+default/${name}\\s+local-path`), table);
      assert.match(table, new RegExp(`persistentvolumeclaim/${name}\\s+Bound\\s+${pvName}\\s+16Mi\\s+RWO\\s+local-path`), table);
    }

    // Scale to 0, delete claim 0: its volume (reclaim Delete) goes, with its directory; claim 1 stays.
    await s.k('scale', 'statefulset', 'web', '--replicas=0');
    await until('StatefulSet pods gone', async () => (await getJson('pods', '-l', 'app=web')).items.length === 0, 60_000);
    await s.k('delete', 'pvc', 'data-web-0', '--wait=false');
    const pv0 = volumes.get('data-web-0').metadata.name;
    await until(`PV ${pv0} deleted`, async () => {
      const r = await s.kubectl(['get', 'pv', pv0]);
      return r.code !== 0 && /NotFound|not found/.test(r.stderr);
    }, 60_000);
    await until(`${dir0} removed`, async () => !existsSync(dir0), 10_000);
    assert.equal((await getJson('pv', volumes.get('data-web-1').metadata.name)).status.phase, 'Bound');
    await s.k('delete', 'statefulset', 'web');
  });

  it('a pod whose claim is missing or unbound waits with FailedMount, then starts once it is bound', async () => {
    // Placed on the node directly: the kubelet, not the scheduler, is what is checked here.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'claimer' },
      spec: {
        nodeName: cluster.nodeName,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'static' } }],
      },
    });
    const failedMounts = async () =>
      (await s.k('get', 'events', '--field-selector', 'involvedObject.name=claimer,reason=FailedMount', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}')).trim();
    const notFound = await until('FailedMount for the missing claim', async () => {
      const m = await failedMounts();
      return m.includes('persistentvolumeclaims "static" not found') && m;
    }, 30_000, 500);
    assert.match(notFound, /Unable to attach or mount volumes: unmounted volumes=\[data\], unattached volumes=\[\], failed to process volumes=\[data\]: error processing PVC default\/static: failed to fetch PVC from API server: persistentvolumeclaims "static" not found/);
    const pod = await getJson('pod', 'claimer');
    assert.equal(pod.status.phase, 'Pending');
    assert.equal(pod.status.containerStatuses?.[0]?.state?.waiting?.reason ?? 'ContainerCreating', 'ContainerCreating');

    // A claim of no class (storageClassName "") stays Pending while no volume matches.
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'static' },
      spec: { storageClassName: '', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Mi' } } },
    });
    await until('FailedMount for the unbound claim', async () => (await failedMounts()).includes('error processing PVC default/static: PVC is not bound'), 30_000, 500);

    // A matching pre-created hostPath volume: the binder binds it and the kubelet's retry mounts it.
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'static-pv' },
      spec: {
        storageClassName: '',
        capacity: { storage: '8Mi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: join(staticDir, 'vol'), type: 'DirectoryOrCreate' },
      },
    });
    await waitRunning('claimer', undefined, 60_000);
    await s.k('exec', 'claimer', '--', 'sh', '-c', 'echo static > /data/f');
    assert.equal(readFileSync(join(staticDir, 'vol', 'f'), 'utf8'), 'static\n');
    await s.k('delete', 'pod', 'claimer', '--wait=false');
  });
  it('a WaitForFirstConsumer claim is pre-bound by the scheduler to a matching local volume', async () => {
    const path = join(staticDir, 'local-disk');
    mkdirSync(path);
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'local-pv' },
      spec: {
        storageClassName: 'local-path',
        capacity: { storage: '8Mi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        local: { path },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [cluster.nodeName] }] }] } },
      },
    });
    await apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'wffc' },
      spec: { storageClassName: 'local-path', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Mi' } } },
    });
    assert.equal((await getJson('pvc', 'wffc')).status.phase, 'Pending', 'WaitForFirstConsumer: no binding before a pod');
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'local-user' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo local > /data/f; sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'wffc' } }],
      },
    });
    await waitRunning('local-user');
    const pvc = await getJson('pvc', 'wffc');
    assert.equal(pvc.spec.volumeName, 'local-pv', 'the existing volume, not a provisioned one');
    assert.equal(pvc.status.phase, 'Bound');
    const pv = await getJson('pv', 'local-pv');
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
    await until('the pod wrote into the local volume', async () => existsSync(join(path, 'f')) && readFileSync(join(path, 'f'), 'utf8') === 'local\n', 10_000);
    await s.k('delete', 'pod', 'local-user', '--wait=false');
  });
});

describe('skiff server --disable-local-storage', { timeout: 60_000 }, () => {
  it('creates no StorageClass', async () => {
    const s = await startServer({ extraArgs: ['--disable-agent', '--disable-dns', '--disable-local-storage'] });
    try {
      assert.equal((await s.k('get', 'storageclass', '-o', 'name')).trim(), '');
    } finally {
      await s.stop();
    }
  });
});

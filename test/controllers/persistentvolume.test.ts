// The PersistentVolume binder and the skiff.io/host-path provisioner against a real API server
// in this process: matching (class, access modes, size, selector, volume mode, smallest fit),
// pre-bound volumes and claims, phases and annotations on both sides, reclaim on claim deletion,
// WaitForFirstConsumer (waits for the scheduler's pre-binding or selected-node annotation),
// provisioning, and the DefaultStorageClass admission.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/client/index.js';
import { PersistentVolumeController } from '../../src/controllers/persistentvolume/controller.js';
import { findBestMatch } from '../../src/controllers/persistentvolume/matching.js';
import { localPathStorageClass } from '../../src/controllers/persistentvolume/host-path-provisioner.js';
import { startControllerEnv, waitFor, type ControllerEnv } from './harness.js';

let env: ControllerEnv;
const NS = 'pv-test';

before(async () => {
  env = await startControllerEnv([new PersistentVolumeController({ storageDir: '/srv/skiff-volumes', resyncPeriodMs: 500 })]);
  await env.client.namespaces.create(null, { metadata: { name: NS } });
});
after(async () => {
  await env?.close();
});

function pv(name: string, size: string, extra: { class?: string; modes?: string[]; labels?: Record<string, string>; mode?: string; reclaim?: string; claimRef?: KObject } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: extra.labels },
    spec: {
      capacity: { storage: size },
      accessModes: extra.modes ?? ['ReadWriteOnce'],
      hostPath: { path: `/tmp/${name}` },
      storageClassName: extra.class ?? '',
      volumeMode: extra.mode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: extra.reclaim ?? 'Retain',
      ...(extra.claimRef ? { claimRef: extra.claimRef } : {}),
    },
  };
}

function pvc(name: string, size: string, extra: { class?: string | null; modes?: string[]; selector?: KObject; volumeName?: string; annotations?: Record<string, string> } = {}): KObject {
  const spec: KObject = { accessModes: extra.modes ?? ['ReadWriteOnce'], resources: { requests: { storage: size } } };
  if (extra.class !== null) spec.storageClassName = extra.class ?? '';
  if (extra.selector) spec.selector = extra.selector;
  if (extra.volumeName) spec.volumeName = extra.volumeName;
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: NS, annotations: extra.annotations }, spec };
}

const getPV = (name: string) => env.client.persistentVolumes.get(null, name);
const getPVC = (name: string) => env.client.persistentVolumeClaims.get(NS, name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function boundClaim(name: string): Promise<KObject> {
  return waitFor(async () => {
    const c = await getPVC(name);
    return c.status?.phase === 'Bound' && c;
  }, 10_000, `claim ${name} Bound`);
}

async function eventsFor(name: string): Promise<string[]> {
  const list = await env.client.events.list(NS);
  return list.items.filter((e: KObject) => e.regarding?.name === name).map((e: KObject) => `${e.reason}: ${e.note}`);
}

test('findBestMatch: pre-bound first, then the smallest volume of the same class, modes, mode and selector that is big enough', () => {
  const claim = { metadata: { name: 'c', namespace: 'n', uid: 'u1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'fast', selector: { matchLabels: { tier: 'a' } } } };
  const vol = (name: string, size: string, o: KObject = {}) => ({ metadata: { name, labels: o.labels ?? { tier: 'a' } }, spec: { capacity: { storage: size }, accessModes: o.modes ?? ['ReadWriteOnce', 'ReadOnlyMany'], storageClassName: o.class ?? 'fast', volumeMode: o.mode, claimRef: o.claimRef } });
  const vols = [
    vol('small', '1Gi'),
    vol('huge', '100Gi'),
    vol('wrong-class', '2Gi', { class: 'slow' }),
    vol('wrong-modes', '2Gi', { modes: ['ReadOnlyMany'] }),
    vol('wrong-labels', '2Gi', { labels: { tier: 'b' } }),
    vol('block', '2Gi', { mode: 'Block' }),
    vol('taken', '2Gi', { claimRef: { namespace: 'n', name: 'other' } }),
    vol('fits', '3Gi'),
  ];
  assert.equal(findBestMatch(claim, vols, false)?.metadata?.name, 'fits');
  assert.equal(findBestMatch(claim, [...vols, vol('mine', '50Gi', { claimRef: { namespace: 'n', name: 'c' } })], false)?.metadata?.name, 'mine');
  assert.equal(findBestMatch(claim, [...vols, vol('stale', '50Gi', { claimRef: { namespace: 'n', name: 'c', uid: 'old' } })], false)?.metadata?.name, 'fits');
  // WaitForFirstConsumer: free volumes are the scheduler's to pick.
  assert.equal(findBestMatch(claim, vols, true), undefined);
  assert.equal(findBestMatch(claim, [...vols, vol('mine', '50Gi', { claimRef: { namespace: 'n', name: 'c', uid: 'u1' } })], true)?.metadata?.name, 'mine');
});

test('a claim binds to the smallest fitting volume: claimRef, volumeName, annotations, phases and status on both sides', async () => {
  for (const v of [pv('v-1g', '1Gi'), pv('v-5g', '5Gi'), pv('v-3g', '3Gi'), pv('v-3g-rox', '3Gi', { modes: ['ReadOnlyMany'] }), pv('v-3g-fast', '3Gi', { class: 'fast' })])
    await env.client.persistentVolumes.create(null, v);
  await waitFor(async () => (await getPV('v-1g')).status?.phase === 'Available', 5000, 'free volumes Available');
  await env.client.persistentVolumeClaims.create(NS, pvc('data', '2Gi'));
  const claim = await boundClaim('data');
  assert.equal(claim.spec.volumeName, 'v-3g');
  assert.equal(claim.metadata!.annotations!['pv.kubernetes.io/bind-completed'], 'yes');
  assert.equal(claim.metadata!.annotations!['pv.kubernetes.io/bound-by-controller'], 'yes');
  assert.deepEqual(claim.status.capacity, { storage: '3Gi' });
  assert.deepEqual(claim.status.accessModes, ['ReadWriteOnce']);
  const vol = await waitFor(async () => {
    const v = await getPV('v-3g');
    return v.status?.phase === 'Bound' && v;
  }, 5000, 'volume Bound');
  assert.deepEqual(
    { kind: vol.spec.claimRef.kind, namespace: vol.spec.claimRef.namespace, name: vol.spec.claimRef.name, uid: vol.spec.claimRef.uid },
    { kind: 'PersistentVolumeClaim', namespace: NS, name: 'data', uid: claim.metadata!.uid },
  );
  assert.equal(vol.metadata!.annotations!['pv.kubernetes.io/bound-by-controller'], 'yes');
  for (const other of ['v-1g', 'v-5g', 'v-3g-rox']) assert.equal((await getPV(other)).status.phase, 'Available', other);
});

test('a claim nothing fits stays Pending (FailedBinding) and binds once a volume appears; a selector limits the choice', async () => {
  await env.client.persistentVolumeClaims.create(NS, pvc('later', '20Gi', { selector: { matchLabels: { disk: 'ssd' } } }));
  await waitFor(async () => (await getPVC('later')).status?.phase === 'Pending', 5000, 'claim Pending');
  await waitFor(async () => (await eventsFor('later')).some((e) => e.startsWith('FailedBinding: no persistent volumes available')), 5000, 'FailedBinding event');
  await env.client.persistentVolumes.create(null, pv('v-30g-hdd', '30Gi', { labels: { disk: 'hdd' } }));
  await sleep(300);
  assert.equal((await getPVC('later')).status.phase, 'Pending', 'a volume without the label is not taken');
  await env.client.persistentVolumes.create(null, pv('v-40g-ssd', '40Gi', { labels: { disk: 'ssd' } }));
  assert.equal((await boundClaim('later')).spec.volumeName, 'v-40g-ssd');
});

test('pre-binding: a volume whose claimRef names the claim, and a claim naming its volume', async () => {
  await env.client.persistentVolumes.create(null, pv('v-reserved', '10Gi', { claimRef: { namespace: NS, name: 'reserved' } }));
  await env.client.persistentVolumes.create(null, pv('v-small-free', '1Gi'));
  await env.client.persistentVolumeClaims.create(NS, pvc('reserved', '1Gi'));
  const c1 = await boundClaim('reserved');
  assert.equal(c1.spec.volumeName, 'v-reserved');
  assert.equal(c1.metadata!.annotations!['pv.kubernetes.io/bound-by-controller'], 'yes', 'the controller set volumeName');
  const v1 = await getPV('v-reserved');
  assert.equal(v1.spec.claimRef.uid, c1.metadata!.uid);
  assert.equal(v1.metadata!.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'the user set claimRef');

  await env.client.persistentVolumes.create(null, pv('v-named', '2Gi'));
  await env.client.persistentVolumeClaims.create(NS, pvc('named', '1Gi', { volumeName: 'v-named' }));
  const c2 = await boundClaim('named');
  assert.equal(c2.spec.volumeName, 'v-named');
  assert.equal(c2.metadata!.annotations!['pv.kubernetes.io/bound-by-controller'], undefined, 'the user set volumeName');
  assert.equal((await getPV('v-named')).metadata!.annotations!['pv.kubernetes.io/bound-by-controller'], 'yes');

  // A claim naming a volume that is too small stays Pending.
  await env.client.persistentVolumes.create(null, pv('v-tiny', '1Mi'));
  await env.client.persistentVolumeClaims.create(NS, pvc('too-big', '1Gi', { volumeName: 'v-tiny' }));
  await waitFor(async () => (await eventsFor('too-big')).some((e) => e.includes('requested PV is too small')), 5000, 'VolumeMismatch event');
  assert.equal((await getPVC('too-big')).status.phase, 'Pending');
});

test('deleting a claim releases its volume: Retain keeps it Released, Delete of a static volume fails', async () => {
  await env.client.persistentVolumes.create(null, pv('v-keep', '7Gi', { reclaim: 'Retain', labels: { r: 'keep' } }));
  await env.client.persistentVolumes.create(null, pv('v-del', '7Gi', { reclaim: 'Delete', labels: { r: 'del' } }));
  await env.client.persistentVolumeClaims.create(NS, pvc('keep', '7Gi', { selector: { matchLabels: { r: 'keep' } } }));
  await env.client.persistentVolumeClaims.create(NS, pvc('del', '7Gi', { selector: { matchLabels: { r: 'del' } } }));
  await boundClaim('keep');
  await boundClaim('del');
  await env.client.persistentVolumeClaims.delete(NS, 'keep');
  await env.client.persistentVolumeClaims.delete(NS, 'del');
  await waitFor(async () => (await getPV('v-keep')).status?.phase === 'Released', 5000, 'Retain volume Released');
  const failed = await waitFor(async () => {
    const v = await getPV('v-del');
    return v.status?.phase === 'Failed' && v;
  }, 5000, 'static Delete volume Failed');
  assert.match(failed.status.message, /no deletable volume plugin matched/);
  // A Released volume is not bound again (its claimRef still names the old claim).
  await env.client.persistentVolumeClaims.create(NS, pvc('keep', '7Gi', { selector: { matchLabels: { r: 'keep' } } }));
  await sleep(500);
  assert.equal((await getPVC('keep')).status.phase, 'Pending');
  assert.equal((await getPV('v-keep')).status.phase, 'Released');
});

test('WaitForFirstConsumer: no binding until the scheduler pre-binds a volume', async () => {
  await env.client.storageClasses.create(null, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'wait' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' });
  await env.client.persistentVolumes.create(null, pv('v-wait', '1Gi', { class: 'wait' }));
  await env.client.persistentVolumeClaims.create(NS, pvc('waiting', '1Gi', { class: 'wait' }));
  await waitFor(async () => (await eventsFor('waiting')).some((e) => e.startsWith('WaitForFirstConsumer: waiting for first consumer')), 5000, 'WaitForFirstConsumer event');
  await sleep(300);
  assert.equal((await getPVC('waiting')).status.phase, 'Pending');
  assert.equal((await getPV('v-wait')).spec.claimRef, undefined);
  // What the scheduler's VolumeBinding PreBind does for a matching volume.
  const claim = await getPVC('waiting');
  await env.client.persistentVolumes.patch(null, 'v-wait', { spec: { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: NS, name: 'waiting', uid: claim.metadata!.uid } } }, 'merge');
  assert.equal((await boundClaim('waiting')).spec.volumeName, 'v-wait');
});

test('skiff.io/host-path provisioning: a hostPath volume on the selected node, bound; deleted with its claim', async () => {
  await env.client.nodes.create(null, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'host-a' } } });
  await env.client.storageClasses.create(null, localPathStorageClass());
  await env.client.persistentVolumeClaims.create(NS, pvc('local', '3Gi', { class: 'local-path' }));
  await waitFor(async () => (await eventsFor('local')).some((e) => e.startsWith('WaitForFirstConsumer')), 5000, 'waits for a consumer');
  assert.equal((await getPVC('local')).status.phase, 'Pending');
  // The scheduler picked node-a for the pod.
  await env.client.persistentVolumeClaims.patch(NS, 'local', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-a' } } }, 'merge');
  const claim = await boundClaim('local');
  const name = `pvc-${claim.metadata!.uid}`;
  assert.equal(claim.spec.volumeName, name);
  assert.equal(claim.metadata!.annotations!['volume.kubernetes.io/storage-provisioner'], 'skiff.io/host-path');
  const vol = await getPV(name);
  assert.equal(vol.metadata!.annotations!['pv.kubernetes.io/provisioned-by'], 'skiff.io/host-path');
  assert.deepEqual(vol.spec.hostPath, { path: `/srv/skiff-volumes/${name}`, type: 'DirectoryOrCreate' });
  assert.deepEqual(vol.spec.nodeAffinity.required.nodeSelectorTerms, [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-a'] }] }]);
  assert.deepEqual(vol.spec.capacity, { storage: '3Gi' });
  assert.equal(vol.spec.storageClassName, 'local-path');
  assert.equal(vol.spec.persistentVolumeReclaimPolicy, 'Delete');
  assert.equal(vol.spec.claimRef.uid, claim.metadata!.uid);
  await waitFor(async () => (await getPV(name)).status?.phase === 'Bound', 5000, 'provisioned volume Bound');
  // Events are recorded asynchronously: the volume can be Bound before the event is written.
  await waitFor(async () => (await eventsFor('local')).some((e) => e === `ProvisioningSucceeded: Successfully provisioned volume ${name}`), 5000, 'ProvisioningSucceeded event');

  await env.client.persistentVolumeClaims.delete(NS, 'local');
  await waitFor(
    async () => {
      try {
        await getPV(name);
        return false;
      } catch (e) {
        return (e as any).reason === 'NotFound';
      }
    },
    5000,
    'provisioned volume deleted (reclaim Delete)',
  );
});

test('host-path with Immediate binding cannot provision (no node): ProvisioningFailed, Pending', async () => {
  await env.client.storageClasses.create(null, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'host-now' }, provisioner: 'skiff.io/host-path', volumeBindingMode: 'Immediate' });
  await env.client.persistentVolumeClaims.create(NS, pvc('now', '1Gi', { class: 'host-now' }));
  await waitFor(async () => (await eventsFor('now')).some((e) => e.startsWith('ProvisioningFailed') && e.includes('no node was specified')), 5000, 'ProvisioningFailed');
  assert.equal((await getPVC('now')).status.phase, 'Pending');
});

test('DefaultStorageClass admission: a claim without storageClassName gets the default class; "" stays ""', async () => {
  // local-path (created above) is the default.
  const created = await env.client.persistentVolumeClaims.create(NS, pvc('defaulted', '1Gi', { class: null }));
  assert.equal(created.spec.storageClassName, 'local-path');
  const none = await env.client.persistentVolumeClaims.create(NS, pvc('no-class', '1Gi', { class: '' }));
  assert.equal(none.spec.storageClassName, '');
});

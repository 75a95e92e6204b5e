import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, Code } from '../../src/scheduler/framework/types.js';
import { IMAGE_LOCALITY, calculatePriority, imageNameCandidates, newImageLocality, normalizedImageName } from '../../src/scheduler/plugins/image-locality.js';
import { ANN_SELECTED_NODE, VOLUME_BINDING, newVolumeBinding } from '../../src/scheduler/plugins/volume-binding.js';
import { makeHandle, makeNode, makePod, nodeInfos, scoreAll } from './plugins-node-fixtures.js';

const MB = 1024 * 1024;

test('ImageLocality: name normalization', () => {
  assert.equal(normalizedImageName('nginx'), 'nginx:latest');
  assert.equal(normalizedImageName('nginx:1.25'), 'nginx:1.25');
  assert.equal(normalizedImageName('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(normalizedImageName('gcr.io/x/y@sha256:abc'), 'gcr.io/x/y@sha256:abc');
  assert.deepEqual(imageNameCandidates('nginx'), ['nginx:latest', 'docker.io/library/nginx:latest', 'library/nginx:latest']);
  assert.deepEqual(imageNameCandidates('docker.io/library/nginx:1.25'), ['docker.io/library/nginx:1.25', 'library/nginx:1.25', 'nginx:1.25']);
  assert.deepEqual(imageNameCandidates('bitnami/redis'), ['bitnami/redis:latest', 'docker.io/bitnami/redis:latest']);
  assert.deepEqual(imageNameCandidates('gcr.io/pause:3.9'), ['gcr.io/pause:3.9']);
});

test('ImageLocality: calculatePriority thresholds', () => {
  assert.equal(calculatePriority(0, 1), 0);
  assert.equal(calculatePriority(23 * MB, 1), 0);
  assert.equal(calculatePriority(1000 * MB, 1), 100);
  assert.equal(calculatePriority(5000 * MB, 2), 100);
  assert.equal(calculatePriority(511 * MB, 1), Math.trunc((100 * 488) / 977));
});

test('ImageLocality: scores by size scaled by spread (upstream cases, per-container max threshold)', () => {
  const node1 = makeNode('machine1', {}, {
    images: [
      { names: ['gcr.io/40:latest', 'gcr.io/40:v1'], sizeBytes: 40 * MB },
      { names: ['gcr.io/300:latest', 'gcr.io/300:v1'], sizeBytes: 300 * MB },
      { names: ['gcr.io/2000:latest'], sizeBytes: 2000 * MB },
    ],
  });
  const node2 = makeNode('machine2', {}, {
    images: [
      { names: ['gcr.io/250:latest'], sizeBytes: 250 * MB },
      { names: ['gcr.io/10:latest', 'gcr.io/10:v1'], sizeBytes: 10 * MB },
    ],
  });
  const pod = (...images: string[]) => makePod({ spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });
  const nis = nodeInfos([node1, node2]);
  const p = newImageLocality(undefined, makeHandle(nis));
  assert.equal(p.name, IMAGE_LOCALITY);
  const max2 = 2000 * MB - 23 * MB;
  // 40MB/2 < 23MB -> 0; 250MB/2 = 125MB -> 100*(125-23)/1977
  assert.deepEqual(scoreAll(p, pod('gcr.io/40', 'gcr.io/250'), nis).map((s) => s.score), [0, Math.trunc((100 * (125 * MB - 23 * MB)) / max2)]);
  // (40 + 300)/2 on machine1
  assert.deepEqual(scoreAll(p, pod('gcr.io/40', 'gcr.io/300'), nis).map((s) => s.score), [Math.trunc((100 * (170 * MB - 23 * MB)) / max2), 0]);
  // 2000MB/2 on machine1 (49), 10MB/2 on machine2 (0)
  assert.deepEqual(scoreAll(p, pod('gcr.io/2000', 'gcr.io/10'), nis).map((s) => s.score), [49, 0]);
  // a third node without images dilutes the spread: 2000/3 = 666MB -> 100*(666-23)/1977
  const nis3 = nodeInfos([node1, node2, makeNode('machine3')]);
  const p3 = newImageLocality(undefined, makeHandle(nis3));
  assert.deepEqual(scoreAll(p3, pod('gcr.io/2000', 'gcr.io/10'), nis3).map((s) => s.score), [Math.trunc((100 * (Math.trunc((2000 * MB) / 3) - 23 * MB)) / max2), 0, 0]);
});

test('ImageLocality: Docker Hub short names match fully qualified node image names', () => {
  const nis = nodeInfos([
    makeNode('a', {}, { images: [{ names: ['docker.io/library/nginx:latest', 'docker.io/library/nginx@sha256:1'], sizeBytes: 600 * MB }] }),
    makeNode('b'),
  ]);
  const p = newImageLocality(undefined, makeHandle(nis));
  const pod = makePod({ spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  // 600MB/2 = 300MB -> 100*(300-23)/977 = 28
  assert.deepEqual(scoreAll(p, pod, nis).map((s) => s.score), [28, 0]);
});

// --- VolumeBinding ---

function volumePod(claims: string[], extra: Record<string, any> = {}) {
  return makePod({ name: 'web-0', spec: { volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })), ...extra } });
}

function pvc(name: string, spec: Record<string, any>, meta: Record<string, any> = {}, status: Record<string, any> = {}) {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid: `uid-${name}`, ...meta }, spec, status };
}

function pv(name: string, spec: Record<string, any>, labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, labels }, spec, status: { phase: spec.claimRef ? 'Bound' : 'Available' } };
}

const zoneAffinity = (zone: string) => ({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: [zone] }] }] } });

function volumeSetup(objs: { pvcs?: any[]; pvs?: any[]; classes?: any[] }, extraHandle: Record<string, any> = {}) {
  const nis = nodeInfos([makeNode('n-a', {}, { labels: { zone: 'a' } }), makeNode('n-b', {}, { labels: { zone: 'b' } })]);
  const pvcs = new Map((objs.pvcs ?? []).map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const pvs = new Map((objs.pvs ?? []).map((o) => [o.metadata.name, o]));
  const classes = new Map((objs.classes ?? []).map((o) => [o.metadata.name, o]));
  const handle = makeHandle(
    nis,
    {
      pvc: (ns: string, n: string) => pvcs.get(`${ns}/${n}`),
      pv: (n: string) => pvs.get(n),
      storageClass: (n: string) => classes.get(n),
      pvs: () => [...pvs.values()],
    },
    extraHandle,
  );
  return { nis, pvcs, handle, plugin: newVolumeBinding({ bindTimeoutSeconds: 2 }, handle) };
}

function filterAll(plugin: any, pod: any, nis: any[]) {
  const state = new CycleState();
  const pre = plugin.preFilter(state, pod, nis);
  if (!pre.status.isSuccess()) return { pre: pre.status, state };
  return { pre: pre.status, state, results: nis.map((ni) => plugin.filter(state, pod, ni)) };
}

test('VolumeBinding: skip without claims; missing claim; unbound immediate claim', () => {
  const { plugin, nis } = volumeSetup({ pvcs: [pvc('unbound', { storageClassName: 'fast' })], classes: [{ metadata: { name: 'fast' }, provisioner: 'x', volumeBindingMode: 'Immediate' }] });
  assert.equal(plugin.name, VOLUME_BINDING);
  assert.equal(filterAll(plugin, makePod(), nis).pre.code, Code.Skip);
  const missing = filterAll(plugin, volumePod(['data']), nis).pre;
  assert.equal(missing.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(missing.reasons, ['persistentvolumeclaim "data" not found']);
  const imm = filterAll(plugin, volumePod(['unbound']), nis).pre;
  assert.equal(imm.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(imm.reasons, ['pod has unbound immediate PersistentVolumeClaims']);
});

test('VolumeBinding: bound claims follow their PV node affinity', () => {
  const bound = (name: string, volumeName: string) => pvc(name, { volumeName }, { annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } }, { phase: 'Bound' });
  const { plugin, nis } = volumeSetup({
    pvcs: [bound('data', 'pv-a'), bound('orphan', 'pv-gone'), bound('free', 'pv-any')],
    pvs: [pv('pv-a', { nodeAffinity: zoneAffinity('a'), claimRef: { name: 'data', namespace: 'default' } }), pv('pv-any', { claimRef: { name: 'free', namespace: 'default' } })],
  });
  const r = filterAll(plugin, volumePod(['data']), nis).results!;
  assert.ok(r[0].isSuccess());
  assert.equal(r[1].code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(r[1].reasons, ['node(s) had volume node affinity conflict']);
  assert.ok(filterAll(plugin, volumePod(['free']), nis).results!.every((s: any) => s.isSuccess()));
  const gone = filterAll(plugin, volumePod(['orphan']), nis).results!;
  assert.deepEqual(gone[0].reasons, ['node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)']);
});

test('VolumeBinding: WaitForFirstConsumer claims: static PVs, provisioning topology, no-provisioner', () => {
  const wffc = (name: string, provisioner: string, allowedTopologies?: any[]) => ({ metadata: { name }, provisioner, volumeBindingMode: 'WaitForFirstConsumer', allowedTopologies });
  const claim = (name: string, sc: string) => pvc(name, { storageClassName: sc, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  const { plugin, nis } = volumeSetup({
    pvcs: [claim('local', 'local-storage'), claim('dyn', 'zonal'), claim('big', 'local-storage')],
    pvs: [
      pv('local-a', { storageClassName: 'local-storage', capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'], nodeAffinity: zoneAffinity('a') }),
      pv('small-b', { storageClassName: 'local-storage', capacity: { storage: '100Mi' }, accessModes: ['ReadWriteOnce'], nodeAffinity: zoneAffinity('b') }),
    ],
    classes: [wffc('local-storage', 'kubernetes.io/no-provisioner'), wffc('zonal', 'rancher.io/local-path', [{ matchLabelExpressions: [{ key: 'zone', values: ['b'] }] }])],
  });
  const local = filterAll(plugin, volumePod(['local']), nis).results!;
  assert.ok(local[0].isSuccess());
  assert.deepEqual(local[1].reasons, ["node(s) didn't find available persistent volumes to bind"]);
  const dyn = filterAll(plugin, volumePod(['dyn']), nis).results!;
  assert.deepEqual(dyn[0].reasons, ["node(s) didn't find available persistent volumes to bind"]);
  assert.ok(dyn[1].isSuccess());
  // Two claims cannot share the single matching PV.
  const both = filterAll(plugin, volumePod(['local', 'big']), nis).results!;
  assert.ok(!both[0].isSuccess() && !both[1].isSuccess());
});

test('VolumeBinding: PreBind annotates the claim with the selected node and waits for binding', async () => {
  const calls: string[] = [];
  const claim = pvc('dyn', { storageClassName: 'lp', resources: { requests: { storage: '1Gi' } } });
  const setup = volumeSetup(
    { pvcs: [claim], classes: [{ metadata: { name: 'lp' }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' }] },
    {
      annotatePVC: async (ns: string, name: string, key: string, value: string) => {
        calls.push(`${ns}/${name} ${key}=${value}`);
        // The provisioner reacts a little later: the informer view shows the claim bound.
        setTimeout(() => {
          setup.pvcs.set('default/dyn', { ...claim, metadata: { ...claim.metadata, annotations: { [key]: value, 'pv.kubernetes.io/bind-completed': 'yes' } }, spec: { ...claim.spec, volumeName: 'pvc-123' }, status: { phase: 'Bound' } });
        }, 50);
      },
    },
  );
  const pod = volumePod(['dyn']);
  const { state, results } = filterAll(setup.plugin, pod, setup.nis);
  assert.ok(results!.every((s: any) => s.isSuccess()));
  const st = await setup.plugin.preBind!(state, pod, 'n-b');
  assert.ok(st.isSuccess(), st.reasons.join());
  assert.deepEqual(calls, [`default/dyn ${ANN_SELECTED_NODE}=n-b`]);
});

test('VolumeBinding: claims already bound to another node by selected-node are rejected elsewhere', () => {
  const claim = pvc('dyn', { storageClassName: 'lp' }, { annotations: { [ANN_SELECTED_NODE]: 'n-a' } });
  const { plugin, nis } = volumeSetup({ pvcs: [claim], classes: [{ metadata: { name: 'lp' }, provisioner: 'p', volumeBindingMode: 'WaitForFirstConsumer' }] });
  const r = filterAll(plugin, volumePod(['dyn']), nis).results!;
  assert.ok(r[0].isSuccess());
  assert.deepEqual(r[1].reasons, ["node(s) didn't find available persistent volumes to bind"]);
});

test('VolumeBinding: ephemeral volumes need the pod-owned claim', () => {
  const pod = makePod({ name: 'eph', spec: { volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } }] } });
  const { plugin, nis } = volumeSetup({});
  assert.deepEqual(filterAll(plugin, pod, nis).pre.reasons, ['persistentvolumeclaim "eph-scratch" not found']);
  const foreign = pvc('eph-scratch', { volumeName: 'pv1' }, { ownerReferences: [{ controller: true, uid: 'someone-else', kind: 'Pod', name: 'x' }] }, { phase: 'Bound' });
  const s2 = volumeSetup({ pvcs: [foreign], pvs: [pv('pv1', {})] });
  const st = filterAll(s2.plugin, pod, s2.nis).pre;
  assert.equal(st.code, Code.Error);
  assert.match(st.reasons[0], /was not created for pod default\/eph \(pod is not owner\)/);
  const owned = pvc('eph-scratch', { volumeName: 'pv1' }, { ownerReferences: [{ controller: true, uid: pod.metadata!.uid, kind: 'Pod', name: 'eph' }] }, { phase: 'Bound' });
  const s3 = volumeSetup({ pvcs: [owned], pvs: [pv('pv1', {})] });
  assert.ok(filterAll(s3.plugin, pod, s3.nis).results!.every((s: any) => s.isSuccess()));
});

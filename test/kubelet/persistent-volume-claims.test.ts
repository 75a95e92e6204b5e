// The kubelet's persistentVolumeClaim volumes: a missing or unbound claim keeps the pod waiting
// with upstream's FailedMount wording; a Bound claim mounts its hostPath or local volume.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../../src/client/index.js';
import { PvcError, resolveClaim, type PersistentVolumeLookups } from '../../src/kubelet/volumes/persistent-volumes.js';
import { VolumeError, setupPodVolumes, teardownPodVolumes, type VolumeContext } from '../../src/kubelet/volumes/volume-manager.js';
import type { TokenManager } from '../../src/kubelet/volumes/token-manager.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-pvc-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function pod(claimName: string, readOnly?: boolean): KObject {
  return {
    metadata: { name: 'web-0', namespace: 'apps', uid: `pod-${claimName}` },
    spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName, ...(readOnly === undefined ? {} : { readOnly }) } }] },
  };
}

function claim(name: string, bound: boolean, volumeName = `pv-${name}`): KObject {
  return {
    metadata: { name, namespace: 'apps', uid: `uid-${name}` },
    spec: { volumeName: bound ? volumeName : undefined },
    status: { phase: bound ? 'Bound' : 'Pending' },
  };
}

function volume(name: string, claimName: string, source: KObject, uid = `uid-${claimName}`): KObject {
  return { metadata: { name }, spec: { ...source, claimRef: { kind: 'PersistentVolumeClaim', namespace: 'apps', name: claimName, uid } } };
}

function lookups(claims: KObject[], volumes: KObject[]): PersistentVolumeLookups {
  return {
    claim: async (ns, name) => claims.find((c) => c.metadata?.namespace === ns && c.metadata?.name === name),
    volume: async (name) => volumes.find((v) => v.metadata?.name === name),
  };
}

function context(l: PersistentVolumeLookups): VolumeContext {
  return {
    podsDir: join(dir, 'pods'),
    tokens: {} as TokenManager,
    configMap: async () => undefined,
    secret: async () => undefined,
    claim: l.claim,
    volume: l.volume,
  };
}

describe('kubelet persistentVolumeClaim volumes', () => {
  it('a missing claim: FailedMount in upstream wording', async () => {
    await assert.rejects(resolveClaim(pod('data-web-0'), pod('data-web-0').spec.volumes[0], lookups([], [])), (e: Error) => {
      assert.ok(e instanceof PvcError);
      assert.equal(e.message, 'error processing PVC apps/data-web-0: failed to fetch PVC from API server: persistentvolumeclaims "data-web-0" not found');
      return true;
    });
    await assert.rejects(setupPodVolumes(pod('data-web-0'), context(lookups([], []))), (e: Error) => {
      assert.ok(e instanceof VolumeError);
      assert.equal(
        e.message,
        'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: ' +
          'error processing PVC apps/data-web-0: failed to fetch PVC from API server: persistentvolumeclaims "data-web-0" not found',
      );
      return true;
    });
  });

  it('an unbound claim: "PVC is not bound", until it is bound', async () => {
    const p = pod('c1');
    await assert.rejects(setupPodVolumes(p, context(lookups([claim('c1', false)], []))), /failed to process volumes=\[data\]: error processing PVC apps\/c1: PVC is not bound$/);
    const path = join(dir, 'storage', 'pv-c1');
    const l = lookups([claim('c1', true)], [volume('pv-c1', 'c1', { hostPath: { path, type: 'DirectoryOrCreate' } })]);
    const res = await setupPodVolumes(p, context(l));
    assert.deepEqual(res.volumes.get('data'), { hostPath: path, readOnly: false });
    assert.ok(statSync(path).isDirectory(), 'DirectoryOrCreate created the directory');
    assert.equal(statSync(path).mode & 0o777, 0o755, "upstream's mode for a hostPath directory");
  });

  it('a skiff.io/host-path volume directory is created world-writable (k3s local-path)', async () => {
    const path = join(dir, 'storage', 'pvc-c6');
    const pv = volume('pvc-c6', 'c6', { hostPath: { path, type: 'DirectoryOrCreate' } });
    pv.metadata!.annotations = { 'pv.kubernetes.io/provisioned-by': 'skiff.io/host-path' };
    const res = await setupPodVolumes(pod('c6'), context(lookups([claim('c6', true, 'pvc-c6')], [pv])));
    assert.equal(res.volumes.get('data')?.hostPath, path);
    assert.equal(statSync(path).mode & 0o777, 0o777);
  });

  it('a Bound claim whose volume names another claim (uid) is refused', async () => {
    const l = lookups([claim('c2', true)], [volume('pv-c2', 'c2', { hostPath: { path: join(dir, 'x') } }, 'someone-else')]);
    await assert.rejects(
      resolveClaim(pod('c2'), pod('c2').spec.volumes[0], l),
      /^Error: error processing PVC apps\/c2: found PV object pv-c2 but its pv.Spec.ClaimRef.UID someone-else does not point to claim.UID uid-c2$/,
    );
    const noRef = volume('pv-c2', 'c2', { hostPath: { path: join(dir, 'x') } });
    delete noRef.spec!.claimRef;
    await assert.rejects(resolveClaim(pod('c2'), pod('c2').spec.volumes[0], lookups([claim('c2', true)], [noRef])), /found PV object pv-c2 but it has a nil pv.Spec.ClaimRef/);
    const deleting = { ...claim('c2', true), metadata: { ...claim('c2', true).metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    await assert.rejects(resolveClaim(pod('c2'), pod('c2').spec.volumes[0], lookups([deleting], [])), /error processing PVC apps\/c2: PVC is being deleted$/);
    await assert.rejects(
      resolveClaim(pod('c3'), pod('c3').spec.volumes[0], lookups([claim('c3', true)], [])),
      /error processing PVC apps\/c3: failed to fetch PV pv-c3 from API server: persistentvolumes "pv-c3" not found$/,
    );
  });

  it('local volumes mount spec.local.path, which must exist; readOnly comes from the pod volume', async () => {
    const path = join(dir, 'local-disk');
    const l = lookups([claim('c4', true)], [volume('pv-c4', 'c4', { local: { path } })]);
    await assert.rejects(setupPodVolumes(pod('c4', true), context(l)), /MountVolume.SetUp failed for volume "data" : hostPath type check failed: .* is not a directory/);
    assert.equal(existsSync(path), false, 'a local volume path is never created');
    mkdirSync(path);
    const res = await setupPodVolumes(pod('c4', true), context(l));
    assert.deepEqual(res.volumes.get('data'), { hostPath: path, readOnly: true });
  });

  it('a mounted claim stays mounted while it is being deleted, until the pod is torn down', async () => {
    const path = join(dir, 'storage', 'pv-c7');
    const claims = [claim('c7', true)];
    const l = lookups(claims, [volume('pv-c7', 'c7', { hostPath: { path, type: 'DirectoryOrCreate' } })]);
    const p = pod('c7');
    assert.equal((await setupPodVolumes(p, context(l))).volumes.get('data')?.hostPath, path);
    claims[0] = { ...claims[0], metadata: { ...claims[0].metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    assert.equal((await setupPodVolumes(p, context(l))).volumes.get('data')?.hostPath, path, 'the running pod keeps its volume');
    await teardownPodVolumes(join(dir, 'pods'), p.metadata!.uid!);
    await assert.rejects(setupPodVolumes(p, context(l)), /PVC is being deleted/);
  });

  it('volume sources the node cannot mount are errors, not waits', async () => {
    const l = lookups([claim('c5', true)], [volume('pv-c5', 'c5', { nfs: { server: 'x', path: '/' } })]);
    await assert.rejects(setupPodVolumes(pod('c5'), context(l)), /MountVolume.SetUp failed for volume "data" : persistent volume pv-c5: volume source nfs is not supported by this node/);
  });
});

// StatefulSet controller against a real in-process API server, with the test acting as kubelet:
// it binds pods to a node (so deletion is graceful), marks them Running/Ready when told to, and
// finishes graceful deletions after a short delay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEnv, eventually, setPodPhase, type Env } from './job-test-harness.js';
import { SharedInformer, isConflict, type KObject } from '../../src/client/index.js';
import { StatefulSetController } from '../../src/controllers/statefulset/controller.js';
import { POD_INDEX_LABEL, POD_NAME_LABEL } from '../../src/controllers/statefulset/identity.js';
import { POD_REVISION_LABEL } from '../../src/controllers/statefulset/history.js';

let env: Env;
let pods: SharedInformer;
/** Pods the fake kubelet makes Running and Ready as soon as it sees them. */
const autoReady = new Set<string>();
/** Pod names in the order they were first seen, and in the order they started terminating. */
const created: string[] = [];
const terminating: string[] = [];
const ns = 'default';
/** Pending graceful-deletion finishers, cleared at teardown. */
const timers = new Set<NodeJS.Timeout>();

async function kubelet(pod: KObject): Promise<void> {
  const name = pod.metadata!.name!;
  const c = env.client;
  try {
    if (pod.metadata?.deletionTimestamp) {
      if (!terminating.includes(name)) {
        terminating.push(name);
        const t = setTimeout(() => {
        timers.delete(t);
        c.pods.delete(ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } }).catch(() => {});
      }, 150);
      timers.add(t);
      }
      return;
    }
    if (!pod.spec?.nodeName) {
      await c.bind(ns, name, 'node-a', { uid: pod.metadata!.uid });
      return;
    }
    if (pod.status?.phase === 'Pending' && autoReady.has(name)) await setPodPhase(c, pod, 'Running');
  } catch {
    // Races with deletion are fine.
  }
}

before(async () => {
  env = await startEnv();
  await env.start(new StatefulSetController());
  pods = new SharedInformer(env.client.pods);
  pods.addEventHandler({
    onAdd: (p) => {
      created.push(p.metadata!.name!);
      void kubelet(p);
    },
    onUpdate: (_o, p) => void kubelet(p),
  });
  pods.start();
  await pods.waitForSync();
});

after(async () => {
  for (const t of timers) clearTimeout(t);
  pods.stop();
  await env.close();
});

function sts(name: string, replicas: number, extra: any = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      ...extra,
    },
  };
}

const claimTemplate = { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };

const getPod = (name: string) => pods.get(ns, name);
const getSts = (name: string) => env.client.statefulSets.get(ns, name);

/** Runs the real kubectl against the test server (asynchronously: the server lives in this process). */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', env.h.kubeconfig, '-n', ns, ...args], { timeout: 20_000 });
  return stdout;
}
/**
 * Scales through the scale subresource, retrying conflicts: the server's PATCH retries read its
 * watch cache, which can briefly lag a concurrent status write.
 */
async function scale(name: string, replicas: number): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await env.client.statefulSets.scale(ns, name, replicas);
      return;
    } catch (e) {
      if (!isConflict(e) || i > 20) throw e;
      await sleep(20);
    }
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function makeReady(name: string): Promise<void> {
  autoReady.add(name);
  const p = getPod(name);
  if (p) await kubelet(p);
  await eventually(() => getPod(name)?.status?.phase === 'Running', 5000, `${name} running`);
}

test('OrderedReady creates pods 0..2 one at a time, each claim before its pod', async () => {
  await env.client.statefulSets.create(ns, sts('web', 3, { volumeClaimTemplates: [claimTemplate] }));
  for (let i = 0; i < 3; i++) {
    const name = `web-${i}`;
    await eventually(() => !!getPod(name), 5000, `${name} created`);
    // The next ordinal waits while this one is not Ready.
    await sleep(250);
    assert.equal(getPod(`web-${i + 1}`), undefined, `web-${i + 1} must wait for ${name} to be ready`);
    const pod = getPod(name)!;
    assert.equal(pod.metadata!.labels![POD_NAME_LABEL], name);
    assert.equal(pod.metadata!.labels![POD_INDEX_LABEL], String(i));
    assert.match(pod.metadata!.labels![POD_REVISION_LABEL], /^web-[a-z0-9]+$/);
    assert.equal(pod.spec.hostname, name);
    assert.equal(pod.spec.subdomain, 'web');
    const vol = pod.spec.volumes.find((v: any) => v.name === 'data');
    assert.equal(vol.persistentVolumeClaim.claimName, `data-web-${i}`);
    const pvc = await env.client.persistentVolumeClaims.get(ns, `data-web-${i}`);
    assert.equal(pvc.metadata!.labels!.app, 'web');
    assert.ok(Number(pvc.metadata!.resourceVersion) < Number(pod.metadata!.resourceVersion), 'claim exists before the pod');
    await makeReady(name);
  }
  assert.deepEqual(created.filter((n) => n.startsWith('web-')), ['web-0', 'web-1', 'web-2']);

  await eventually(async () => (await getSts('web')).status?.readyReplicas === 3, 5000, 'status ready 3');
  const s = await getSts('web');
  assert.equal(s.status.replicas, 3);
  assert.equal(s.status.availableReplicas, 3);
  assert.equal(s.status.currentReplicas, 3);
  assert.equal(s.status.updatedReplicas, 3);
  assert.equal(s.status.observedGeneration, s.metadata!.generation);
  assert.equal(s.status.currentRevision, s.status.updateRevision);
  assert.equal(s.status.collisionCount, 0);
  const revs = (await env.client.controllerRevisions.list(ns)).items.filter((r) => r.metadata!.ownerReferences?.[0]?.name === 'web');
  assert.equal(revs.length, 1);
  assert.equal(revs[0].metadata!.name, s.status.currentRevision);
  assert.equal(revs[0].revision, 1);
  assert.equal(revs[0].data.spec.template.$patch, 'replace');
  const events = await env.events(ns, 'web');
  assert.ok(events.includes('SuccessfulCreate: create Pod web-0 in StatefulSet web successful'), events.join('\n'));
  assert.ok(events.includes('SuccessfulCreate: create Claim data-web-0 Pod web-0 in StatefulSet web success'), events.join('\n'));
});

test('scaling 3 -> 1 removes web-2, then web-1, one at a time', async () => {
  await scale('web', 1);
  await eventually(() => !getPod('web-2') && !getPod('web-1'), 8000, 'scaled down');
  assert.deepEqual(terminating.filter((n) => n.startsWith('web-')), ['web-2', 'web-1']);
  assert.ok(getPod('web-0') && !getPod('web-0')!.metadata!.deletionTimestamp);
  await eventually(async () => (await getSts('web')).status?.replicas === 1, 5000, 'status replicas 1');
  // Retain is the default: the claims stay.
  const claims = (await env.client.persistentVolumeClaims.list(ns)).items.map((c) => c.metadata!.name);
  assert.ok(claims.includes('data-web-1') && claims.includes('data-web-2'));
});

test('rolling update with partition=1 updates only ordinal 2 and up, highest first', async () => {
  await env.client.statefulSets.create(ns, sts('db', 3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }));
  for (let i = 0; i < 3; i++) autoReady.add(`db-${i}`);
  await eventually(async () => (await getSts('db')).status?.readyReplicas === 3, 8000, 'db ready');
  const before = await getSts('db');
  const oldRev = before.status.currentRevision;

  await env.client.statefulSets.patch(ns, 'db', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, 'strategic');
  await eventually(async () => {
    const s = await getSts('db');
    return s.status?.updatedReplicas === 2 && s.status?.readyReplicas === 3;
  }, 8000, 'partitioned rollout');
  const s = await getSts('db');
  assert.notEqual(s.status.updateRevision, oldRev);
  assert.equal(s.status.currentRevision, oldRev);
  assert.equal(getPod('db-0')!.metadata!.labels![POD_REVISION_LABEL], oldRev);
  assert.equal(getPod('db-0')!.spec.containers[0].image, 'nginx:1');
  for (const n of ['db-1', 'db-2']) {
    assert.equal(getPod(n)!.metadata!.labels![POD_REVISION_LABEL], s.status.updateRevision);
    assert.equal(getPod(n)!.spec.containers[0].image, 'nginx:2');
  }
  assert.deepEqual(terminating.filter((n) => n.startsWith('db-')), ['db-2', 'db-1']);
  assert.match(await kubectl('rollout', 'status', 'sts/db', '--timeout=10s'), /partitioned roll out complete: 2 new pods have been updated/);

  // Partition 0 finishes the rollout: the update revision becomes current.
  await env.client.statefulSets.patch(ns, 'db', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, 'merge');
  await eventually(async () => {
    const x = await getSts('db');
    return x.status?.currentRevision === x.status?.updateRevision && x.status?.updatedReplicas === 3 && x.status?.readyReplicas === 3;
  }, 8000, 'full rollout');
  assert.equal(getPod('db-0')!.spec.containers[0].image, 'nginx:2');
  const revs = (await env.client.controllerRevisions.list(ns)).items.filter((r) => r.metadata!.ownerReferences?.[0]?.name === 'db');
  assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
  assert.match(await kubectl('rollout', 'status', 'sts/db', '--timeout=10s'), /partitioned roll out complete: 3 new pods have been updated/);
  const history = await kubectl('rollout', 'history', 'sts/db');
  assert.match(history, /^1\s/m);
  assert.match(history, /^2\s/m);
});

test('Parallel creates every pod without waiting; whenScaled=Delete hands claims to scaled-down pods', async () => {
  await env.client.statefulSets.create(
    ns,
    sts('par', 3, {
      podManagementPolicy: 'Parallel',
      volumeClaimTemplates: [claimTemplate],
      persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Retain' },
    }),
  );
  await eventually(() => !!getPod('par-0') && !!getPod('par-1') && !!getPod('par-2'), 5000, 'all created');
  assert.ok(!autoReady.has('par-0'));
  // Scale to 1: both condemned pods go at once, and their claims get the pod as owner first.
  const uid2 = getPod('par-2')!.metadata!.uid;
  await scale('par', 1);
  await eventually(() => terminating.includes('par-1') && terminating.includes('par-2'), 5000, 'both terminating');
  const claim = await env.client.persistentVolumeClaims.get(ns, 'data-par-2');
  assert.deepEqual(
    claim.metadata!.ownerReferences!.map((r) => [r.kind, r.uid]),
    [['Pod', uid2]],
  );
  const kept = await env.client.persistentVolumeClaims.get(ns, 'data-par-0');
  assert.equal(kept.metadata!.ownerReferences, undefined);
});

test('a failed pod is deleted and recreated under the same name', async () => {
  await eventually(() => getPod('web-0')?.status?.phase === 'Running', 5000, 'web-0 running');
  const old = getPod('web-0')!;
  await setPodPhase(env.client, old, 'Failed');
  await eventually(() => !!getPod('web-0') && getPod('web-0')!.metadata!.uid !== old.metadata!.uid, 8000, 'web-0 recreated');
});

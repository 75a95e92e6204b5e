// Deployment controller against a real API server, driven partly by the real kubectl:
// ReplicaSets per template hash, rolling updates within maxSurge/maxUnavailable at every pod
// event, Recreate, rollout undo/pause/resume/restart, revisions and history cleanup, progress
// deadline, and `kubectl rollout status` reporting success exactly like upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/client/index.js';
import { startCluster, waitFor, isReady, template, type Cluster } from './deployment-harness.js';

let c: Cluster;
const ns = 'deploy-test';
before(async () => {
  c = await startCluster();
  await c.client.namespaces.create(null, { metadata: { name: ns } });
});
after(async () => {
  await c.close();
});

const deployment = (name: string, replicas: number, extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }), ...extra },
});

const rsOf = async (name: string): Promise<KObject[]> => {
  const d = await c.client.deployments.get(ns, name);
  const list = await c.client.replicaSets.list(ns);
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((r) => r.uid === d.metadata!.uid));
};
const livePods = (app: string) => c.pods.list(ns).filter((p) => p.metadata?.labels?.app === app && !p.metadata?.deletionTimestamp);
const cond = (d: KObject, type: string) => (d.status?.conditions ?? []).find((x: any) => x.type === type);

async function rolledOut(name: string): Promise<void> {
  const r = await c.kubectl('rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=20s');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').at(-1), `deployment "${name}" successfully rolled out`);
}

/** Asserts the rolling-update bounds at every pod event until stopped. */
function watchBounds(app: string, maxTotal: number, minReady: number) {
  const violations: string[] = [];
  let peak = 0;
  const check = (what: string) => {
    const pods = livePods(app);
    const ready = pods.filter(isReady).length;
    peak = Math.max(peak, pods.length);
    if (pods.length > maxTotal) violations.push(`${what}: ${pods.length} pods > ${maxTotal}`);
    if (ready < minReady) violations.push(`${what}: ${ready} ready < ${minReady}`);
  };
  const reg = c.pods.addEventHandler({ onAdd: () => check('add'), onUpdate: () => check('update'), onDelete: () => check('delete') });
  return {
    stop() {
      reg.remove();
      return { violations, peak };
    },
  };
}

test('create: ReplicaSet <name>-<hash> with pod-template-hash, revision 1, pods, Available, rollout status', async () => {
  await c.client.deployments.create(ns, deployment('web', 3));
  await rolledOut('web');
  const [rs] = await rsOf('web');
  const hash = rs.metadata!.labels!['pod-template-hash'];
  assert.ok(hash);
  assert.equal(rs.metadata!.name, `web-${hash}`);
  assert.equal(rs.spec.selector.matchLabels['pod-template-hash'], hash);
  assert.equal(rs.spec.template.metadata.labels['pod-template-hash'], hash);
  assert.deepEqual(rs.metadata!.ownerReferences!.map((r) => [r.kind, r.name, r.controller, r.blockOwnerDeletion]), [['Deployment', 'web', true, true]]);
  assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
  assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '3');
  assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '4');
  assert.equal(livePods('web').length, 3);

  const d = await c.client.deployments.get(ns, 'web');
  assert.equal(d.metadata!.annotations!['deployment.kubernetes.io/revision'], '1');
  assert.deepEqual(
    { r: d.status.replicas, u: d.status.updatedReplicas, rd: d.status.readyReplicas, a: d.status.availableReplicas, un: d.status.unavailableReplicas, g: d.status.observedGeneration >= d.metadata!.generation! },
    { r: 3, u: 3, rd: 3, a: 3, un: undefined, g: true },
  );
  assert.deepEqual([cond(d, 'Available').status, cond(d, 'Available').reason, cond(d, 'Available').message], ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']);
  assert.deepEqual([cond(d, 'Progressing').status, cond(d, 'Progressing').reason], ['True', 'NewReplicaSetAvailable']);
  assert.equal(cond(d, 'Progressing').message, `ReplicaSet "web-${hash}" has successfully progressed.`);

  const events = await waitFor(async () => {
    const list = await c.client.events.list(ns);
    return list.items.find((e) => e.reason === 'ScalingReplicaSet' && e.regarding?.name === 'web');
  }, 5000, 'ScalingReplicaSet event');
  assert.equal(events.note, `Scaled up replica set web-${hash} to 3 from 0`);
  assert.equal(events.reportingController, 'deployment-controller');
});

test('rolling update to a new image stays within maxSurge/maxUnavailable at every pod event', async () => {
  // 4 replicas, 25%/25%: at most 5 pods, at least 3 ready.
  await c.client.deployments.create(ns, deployment('roll', 4));
  await rolledOut('roll');
  const bounds = watchBounds('roll', 5, 3);
  const r = await c.kubectl('set', 'image', 'deployment/roll', 'app=nginx:1.26', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await rolledOut('roll');
  const { violations, peak } = bounds.stop();
  assert.deepEqual(violations, []);
  assert.equal(peak, 5, 'surged');

  const rss = await rsOf('roll');
  assert.equal(rss.length, 2, 'old ReplicaSet kept in history');
  const byRev = Object.fromEntries(rss.map((rs) => [rs.metadata!.annotations!['deployment.kubernetes.io/revision'], rs]));
  assert.equal(byRev['1'].spec.replicas, 0);
  assert.equal(byRev['2'].spec.replicas, 4);
  assert.equal(byRev['2'].spec.template.spec.containers[0].image, 'nginx:1.26');
  const d = await c.client.deployments.get(ns, 'roll');
  assert.equal(d.metadata!.annotations!['deployment.kubernetes.io/revision'], '2');
  assert.equal(livePods('roll').length, 4);
  assert.ok(livePods('roll').every((p) => p.spec.containers[0].image === 'nginx:1.26'));
});

test('maxUnavailable 0 with percent surge: never below replicas ready', async () => {
  await c.client.deployments.create(
    ns,
    deployment('safe', 3, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '50%', maxUnavailable: 0 } } }),
  );
  await rolledOut('safe');
  const bounds = watchBounds('safe', 5, 3); // surge rounds up: ceil(1.5) = 2
  await c.client.deployments.patch(ns, 'safe', { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } } }, 'strategic');
  await rolledOut('safe');
  assert.deepEqual(bounds.stop().violations, []);
});

test('rollout undo goes back to the previous template, reusing its ReplicaSet as a new revision', async () => {
  const r = await c.kubectl('rollout', 'undo', 'deployment/roll', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await rolledOut('roll');
  const rss = await rsOf('roll');
  assert.equal(rss.length, 2);
  const active = rss.find((rs) => rs.spec.replicas === 4)!;
  assert.equal(active.spec.template.spec.containers[0].image, 'nginx:1.25');
  assert.equal(active.metadata!.annotations!['deployment.kubernetes.io/revision'], '3');
  assert.equal(active.metadata!.annotations!['deployment.kubernetes.io/revision-history'], '1');
  const d = await waitFor(async () => {
    const d = await c.client.deployments.get(ns, 'roll');
    return d.metadata!.annotations!['deployment.kubernetes.io/revision'] === '3' && d;
  }, 5000, 'revision 3');
  assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.25');
  const hist = await c.kubectl('rollout', 'history', 'deployment/roll', '-n', ns);
  assert.equal(hist.code, 0, hist.stderr);
  assert.match(hist.stdout, /^2\s/m);
  assert.match(hist.stdout, /^3\s/m);
});

test('Recreate: old pods are all gone before any new pod exists', async () => {
  await c.client.deployments.create(ns, deployment('rec', 3, { strategy: { type: 'Recreate' } }));
  await rolledOut('rec');
  const oldHash = (await rsOf('rec'))[0].metadata!.labels!['pod-template-hash'];
  const mixed: string[] = [];
  const check = () => {
    const hashes = new Set(livePods('rec').map((p) => p.metadata!.labels!['pod-template-hash']));
    if (hashes.size > 1) mixed.push([...hashes].join(','));
  };
  const reg = c.pods.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
  const r = await c.kubectl('set', 'image', 'deployment/rec', 'app=nginx:1.26', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await rolledOut('rec');
  reg.remove();
  assert.deepEqual(mixed, []);
  const pods = livePods('rec');
  assert.equal(pods.length, 3);
  assert.ok(pods.every((p) => p.metadata!.labels!['pod-template-hash'] !== oldHash));
});

test('pause stops rollouts (Progressing DeploymentPaused); resume continues; restart rolls out', async () => {
  await c.client.deployments.create(ns, deployment('pz', 2));
  await rolledOut('pz');
  let r = await c.kubectl('rollout', 'pause', 'deployment/pz', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => cond(await c.client.deployments.get(ns, 'pz'), 'Progressing')?.reason === 'DeploymentPaused', 5000, 'paused condition');
  const paused = cond(await c.client.deployments.get(ns, 'pz'), 'Progressing');
  assert.deepEqual([paused.status, paused.message], ['Unknown', 'Deployment is paused']);
  r = await c.kubectl('set', 'image', 'deployment/pz', 'app=nginx:1.26', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  // Scaling still works while paused; the template change does not roll out.
  await c.client.deployments.scale(ns, 'pz', 3);
  await waitFor(() => livePods('pz').length === 3, 5000, 'scaled while paused');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal((await rsOf('pz')).length, 1, 'no new ReplicaSet while paused');
  assert.ok(livePods('pz').every((p) => p.spec.containers[0].image === 'nginx:1.25'));

  r = await c.kubectl('rollout', 'resume', 'deployment/pz', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await rolledOut('pz');
  assert.ok(livePods('pz').every((p) => p.spec.containers[0].image === 'nginx:1.26'));
  assert.equal((await rsOf('pz')).length, 2);

  r = await c.kubectl('rollout', 'restart', 'deployment/pz', '-n', ns);
  assert.equal(r.code, 0, r.stderr);
  await rolledOut('pz');
  const rss = await rsOf('pz');
  assert.equal(rss.length, 3);
  const newest = rss.find((rs) => rs.metadata!.annotations!['deployment.kubernetes.io/revision'] === '3')!;
  assert.ok(newest.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']);
  assert.equal(newest.spec.replicas, 3);
});

test('revisionHistoryLimit deletes the oldest scaled-down ReplicaSets', async () => {
  await c.client.deployments.create(ns, deployment('hist', 1, { revisionHistoryLimit: 1 }));
  await rolledOut('hist');
  for (const tag of ['1.26', '1.27']) {
    const r = await c.kubectl('set', 'image', 'deployment/hist', `app=nginx:${tag}`, '-n', ns);
    assert.equal(r.code, 0, r.stderr);
    await rolledOut('hist');
  }
  const rss = await waitFor(async () => {
    const l = await rsOf('hist');
    return l.length === 2 && l;
  }, 5000, 'cleanup to 2 ReplicaSets');
  assert.deepEqual(rss.map((rs) => rs.metadata!.annotations!['deployment.kubernetes.io/revision']).sort(), ['2', '3']);
});

test('progress deadline exceeded when new pods never become ready', async () => {
  c.holdBack((p) => p.spec?.containers?.[0]?.image === 'nginx:broken');
  try {
    await c.client.deployments.create(ns, deployment('stuck', 2, { progressDeadlineSeconds: 2 }));
    await rolledOut('stuck');
    const r1 = await c.kubectl('set', 'image', 'deployment/stuck', 'app=nginx:broken', '-n', ns);
    assert.equal(r1.code, 0, r1.stderr);
    const d = await waitFor(async () => {
      const d = await c.client.deployments.get(ns, 'stuck');
      return cond(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded' && d;
    }, 10_000, 'ProgressDeadlineExceeded');
    const p = cond(d, 'Progressing');
    assert.equal(p.status, 'False');
    assert.match(p.message, /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
    // Available still: 25% of 2 rounds down to 0 unavailable, so the old pods were kept.
    assert.equal(cond(d, 'Available').status, 'True');
    assert.equal(livePods('stuck').filter(isReady).length, 2);
    const r = await c.kubectl('rollout', 'status', 'deployment/stuck', '-n', ns, '--timeout=5s');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /deployment "stuck" exceeded its progress deadline/);
  } finally {
    c.holdBack(undefined);
  }
});

test('scaling during a stuck rollout scales the ReplicaSets in proportion (max-replicas annotations)', async () => {
  c.holdBack((p) => p.spec?.containers?.[0]?.image === 'nginx:never');
  try {
    await c.client.deployments.create(ns, deployment('prop', 4));
    await rolledOut('prop');
    await c.client.deployments.patch(ns, 'prop', { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:never' }] } } } }, 'strategic');
    // 25%/25% of 4: the rollout stops at old 3 + new 2 (5 pods, 3 available).
    const sizes = async () => {
      const rss = await rsOf('prop');
      const img = (rs: KObject) => rs.spec.template.spec.containers[0].image;
      return {
        old: rss.find((rs) => img(rs) === 'nginx:1.25')!,
        cur: rss.find((rs) => img(rs) === 'nginx:never'),
      };
    };
    await waitFor(async () => {
      const s = await sizes();
      return s.old.spec.replicas === 3 && s.cur?.spec.replicas === 2;
    }, 10_000, 'old 3 / new 2');
    await c.client.deployments.scale(ns, 'prop', 8);
    // 8 + 2 surge = 10, split 3:2 → 6:4.
    const s = await waitFor(async () => {
      const s = await sizes();
      return s.old.spec.replicas === 6 && s.cur?.spec.replicas === 4 && s;
    }, 10_000, 'proportional 6 / 4');
    for (const rs of [s.old, s.cur!]) {
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/desired-replicas'], '8');
      assert.equal(rs.metadata!.annotations!['deployment.kubernetes.io/max-replicas'], '10');
    }
  } finally {
    c.holdBack(undefined);
  }
});

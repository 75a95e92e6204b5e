// DaemonSet controller against a real in-process API server. Nodes are created directly through
// the API; the test plays scheduler and kubelet: it binds each daemon pod to the node its
// affinity names, marks it Running/Ready a little later, and finishes graceful deletions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEnv, eventually, setPodPhase, type Env } from './job-test-harness.js';
import { SharedInformer, type KObject } from '../../src/client/index.js';
import { DaemonSetController } from '../../src/controllers/daemonset/controller.js';
import { TEMPLATE_GENERATION_LABEL, targetNodeName } from '../../src/controllers/daemonset/placement.js';
import { POD_REVISION_LABEL } from '../../src/controllers/statefulset/history.js';

let env: Env;
let pods: SharedInformer;
const ns = 'default';
/** Pending graceful-deletion finishers, cleared at teardown. */
const timers = new Set<NodeJS.Timeout>();
/** Nodes whose pods the fake scheduler leaves unbound. */
const unschedulable = new Set<string>();
/** Called on every pod event (rolling update invariants). */
let watcher: (() => void) | undefined;

function ownerName(p: KObject): string | undefined {
  return p.metadata?.ownerReferences?.find((r) => r.controller)?.name;
}

async function kubelet(pod: KObject): Promise<void> {
  const c = env.client;
  const name = pod.metadata!.name!;
  try {
    if (pod.metadata?.deletionTimestamp) {
      const t = setTimeout(() => {
        timers.delete(t);
        c.pods.delete(ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } }).catch(() => {});
      }, 30);
      timers.add(t);
      return;
    }
    if (!pod.spec?.nodeName) {
      const node = targetNodeName(pod);
      if (node && !unschedulable.has(node)) await c.bind(ns, name, node, { uid: pod.metadata!.uid });
      return;
    }
    if (pod.status?.phase === 'Pending') {
      await new Promise((r) => setTimeout(r, 40));
      await setPodPhase(c, pod, 'Running');
    }
  } catch {
    // Races with deletion are fine.
  }
}

before(async () => {
  env = await startEnv();
  await env.start(new DaemonSetController());
  pods = new SharedInformer(env.client.pods);
  pods.addEventHandler({
    onAdd: (p) => {
      void kubelet(p);
      watcher?.();
    },
    onUpdate: (_o, p) => {
      void kubelet(p);
      watcher?.();
    },
    onDelete: () => watcher?.(),
  });
  pods.start();
  await pods.waitForSync();
  for (const n of ['n1', 'n2', 'n3']) await createNode(n);
  await createNode('tainted', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
});

after(async () => {
  for (const t of timers) clearTimeout(t);
  pods.stop();
  await env.close();
});

async function createNode(name: string, spec: any = {}): Promise<void> {
  await env.client.nodes.create(null, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec });
}

function ds(name: string, extra: any = {}, podSpec: any = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'agent:1' }], ...podSpec } },
      ...extra,
    },
  };
}

const podsOf = (name: string) => pods.list(ns).filter((p) => ownerName(p) === name && !p.metadata?.deletionTimestamp);
const nodesOf = (name: string) => podsOf(name).map((p) => targetNodeName(p)).sort();
const getDs = (name: string) => env.client.daemonSets.get(ns, name);

/** Runs the real kubectl against the test server (asynchronously: the server lives in this process). */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', env.h.kubeconfig, '-n', ns, ...args], { timeout: 20_000 });
  return stdout;
}

test('one pod per untainted node, pinned by node affinity, with daemon tolerations and labels', async () => {
  await env.client.daemonSets.create(ns, ds('agent'));
  await eventually(async () => {
    const s = (await getDs('agent')).status;
    return s?.numberReady === 3 && s?.numberAvailable === 3;
  }, 8000, 'agent ready on 3 nodes');
  assert.deepEqual(nodesOf('agent'), ['n1', 'n2', 'n3']);
  const pod = podsOf('agent')[0];
  const terms = pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.deepEqual(terms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [targetNodeName(pod)] }] }]);
  const tolerated = pod.spec.tolerations.map((t: any) => `${t.key}:${t.effect}`);
  for (const k of ['not-ready:NoExecute', 'unreachable:NoExecute', 'disk-pressure:NoSchedule', 'memory-pressure:NoSchedule', 'pid-pressure:NoSchedule', 'unschedulable:NoSchedule'])
    assert.ok(tolerated.includes(`node.kubernetes.io/${k}`), k);
  assert.ok(!tolerated.includes('node.kubernetes.io/network-unavailable:NoSchedule'));
  assert.equal(pod.spec.tolerations.find((t: any) => t.key === 'node.kubernetes.io/not-ready').tolerationSeconds, undefined);
  assert.equal(pod.metadata!.labels![TEMPLATE_GENERATION_LABEL], '1');
  assert.ok(pod.metadata!.generateName === 'agent-');

  const d = await getDs('agent');
  const s = d.status;
  assert.equal(s.desiredNumberScheduled, 3);
  assert.equal(s.currentNumberScheduled, 3);
  assert.equal(s.updatedNumberScheduled, 3);
  assert.equal(s.numberMisscheduled, 0);
  assert.equal(s.numberUnavailable, undefined);
  assert.equal(s.observedGeneration, d.metadata!.generation);
  const revs = (await env.client.controllerRevisions.list(ns)).items.filter((r) => r.metadata!.ownerReferences?.[0]?.name === 'agent');
  assert.equal(revs.length, 1);
  assert.equal(revs[0].metadata!.name, `agent-${pod.metadata!.labels![POD_REVISION_LABEL]}`);
  assert.equal(revs[0].metadata!.labels![POD_REVISION_LABEL], pod.metadata!.labels![POD_REVISION_LABEL]);
  const events = await env.events(ns, 'agent');
  assert.ok(events.some((e) => /^SuccessfulCreate: Created pod: agent-/.test(e)), events.join('\n'));
});

test('a NoSchedule-tainted node is skipped unless the template tolerates the taint; hostNetwork adds network-unavailable', async () => {
  const tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }];
  await env.client.daemonSets.create(ns, ds('tol', {}, { tolerations, hostNetwork: true }));
  await eventually(() => nodesOf('tol').length === 4, 8000, 'tol on 4 nodes');
  assert.deepEqual(nodesOf('tol'), ['n1', 'n2', 'n3', 'tainted']);
  const tolerated = podsOf('tol')[0].spec.tolerations.map((t: any) => t.key);
  assert.ok(tolerated.includes('dedicated') && tolerated.includes('node.kubernetes.io/network-unavailable'));
  assert.deepEqual(nodesOf('agent'), ['n1', 'n2', 'n3']);

  // A node selector narrows placement further.
  await env.client.daemonSets.create(ns, ds('picky', {}, { nodeSelector: { 'kubernetes.io/hostname': 'n2' } }));
  await eventually(() => nodesOf('picky').length === 1, 8000, 'picky on n2');
  assert.deepEqual(nodesOf('picky'), ['n2']);
  await eventually(async () => (await getDs('picky')).status?.desiredNumberScheduled === 1, 5000, 'picky desired 1');
});

test('follows nodes being added and removed', async () => {
  await createNode('n4');
  await eventually(() => nodesOf('agent').includes('n4'), 8000, 'agent on n4');
  await eventually(async () => (await getDs('agent')).status?.numberReady === 4, 8000, 'agent ready 4');

  // A pod the scheduler has not bound yet is deleted with its node.
  unschedulable.add('n5');
  await createNode('n5');
  await eventually(() => nodesOf('agent').includes('n5'), 8000, 'agent pod for n5');
  const pending = podsOf('agent').find((p) => targetNodeName(p) === 'n5')!;
  assert.equal(pending.spec.nodeName, undefined);
  await env.client.nodes.delete(null, 'n5');
  await eventually(() => !pods.get(ns, pending.metadata!.name!), 8000, 'unbound pod for n5 deleted');

  // Tainting a node NoExecute makes its pod go (NoSchedule alone would let it stay).
  await env.client.nodes.patch(null, 'n4', { spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } }, 'merge');
  await eventually(async () => (await getDs('agent')).status?.desiredNumberScheduled === 3, 8000, 'desired 3 after taint');
  assert.ok(nodesOf('agent').includes('n4'), 'NoSchedule lets the running pod stay');
  assert.equal((await getDs('agent')).status.numberMisscheduled, 1);
  await env.client.nodes.patch(null, 'n4', { spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } }, 'merge');
  await eventually(() => !nodesOf('agent').includes('n4'), 8000, 'pod leaves n4');
  await env.client.nodes.delete(null, 'n4');
  await eventually(async () => {
    const s = (await getDs('agent')).status;
    return s?.desiredNumberScheduled === 3 && s?.numberMisscheduled === 0;
  }, 8000, 'agent back to 3');
});

test('rolling update replaces pods with at most maxUnavailable nodes unavailable', async () => {
  await eventually(async () => (await getDs('agent')).status?.numberAvailable === 3, 8000, 'agent settled');
  let maxUnavailable = 0;
  watcher = () => {
    const ready = new Set(podsOf('agent').filter((p) => p.status?.phase === 'Running').map((p) => targetNodeName(p)));
    maxUnavailable = Math.max(maxUnavailable, ['n1', 'n2', 'n3'].filter((n) => !ready.has(n)).length);
  };
  const oldHash = podsOf('agent')[0].metadata!.labels![POD_REVISION_LABEL];
  await env.client.daemonSets.patch(ns, 'agent', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, 'strategic');
  await eventually(async () => {
    const d = await getDs('agent');
    const s = d.status;
    return s?.observedGeneration === d.metadata!.generation && s?.updatedNumberScheduled === 3 && s?.numberAvailable === 3;
  }, 10000, 'rolled out');
  watcher = undefined;
  assert.equal(maxUnavailable, 1);
  const now = podsOf('agent');
  assert.equal(now.length, 3);
  for (const p of now) {
    assert.equal(p.spec.containers[0].image, 'agent:2');
    assert.notEqual(p.metadata!.labels![POD_REVISION_LABEL], oldHash);
    assert.equal(p.metadata!.labels![TEMPLATE_GENERATION_LABEL], '2');
  }
  const revs = (await env.client.controllerRevisions.list(ns)).items.filter((r) => r.metadata!.ownerReferences?.[0]?.name === 'agent');
  assert.deepEqual(revs.map((r) => r.revision).sort(), [1, 2]);
  const events = await env.events(ns, 'agent');
  assert.ok(events.some((e) => /^SuccessfulDelete: Deleted pod: agent-/.test(e)), events.join('\n'));
  assert.match(await kubectl('rollout', 'status', 'ds/agent', '--timeout=10s'), /daemon set "agent" successfully rolled out/);
  const history = await kubectl('rollout', 'history', 'ds/agent');
  assert.match(history, /^2\s/m);
});

test('kubectl rollout undo goes back to the previous template, renumbering its revision', async () => {
  assert.match(await kubectl('rollout', 'undo', 'ds/agent'), /daemonset.apps\/agent rolled back/);
  await eventually(async () => {
    const d = await getDs('agent');
    const s = d.status;
    return s?.observedGeneration === d.metadata!.generation && s?.updatedNumberScheduled === 3 && s?.numberAvailable === 3 && podsOf('agent').length === 3;
  }, 10000, 'rolled back');
  for (const p of podsOf('agent')) assert.equal(p.spec.containers[0].image, 'agent:1');
  await eventually(async () => {
    const revs = (await env.client.controllerRevisions.list(ns)).items.filter((r) => r.metadata!.ownerReferences?.[0]?.name === 'agent');
    return revs.map((r) => r.revision).sort().join() === '2,3';
  }, 5000, 'revision 1 becomes 3');
});

test('a failed daemon pod is deleted and replaced on its node', async () => {
  const failed = podsOf('agent').find((p) => targetNodeName(p) === 'n1')!;
  await setPodPhase(env.client, failed, 'Failed');
  await eventually(() => {
    const now = podsOf('agent').filter((p) => targetNodeName(p) === 'n1');
    return now.length === 1 && now[0].metadata!.uid !== failed.metadata!.uid && now[0].status?.phase === 'Running';
  }, 8000, 'replacement on n1');
  const events = await env.events(ns, 'agent');
  assert.ok(events.includes(`FailedDaemonPod: Found failed daemon pod default/${failed.metadata!.name} on node n1, will try to kill it`), events.join('\n'));
});

test('a pod that does not fit is still created, with a FailedPlacement warning', async () => {
  await createNode('small');
  await env.client.nodes.patch(null, 'small', { status: { allocatable: { cpu: '100m', memory: '1Gi', pods: '10' }, capacity: { cpu: '100m', memory: '1Gi', pods: '10' } } }, 'merge', { subresource: 'status' });
  const resources = { requests: { cpu: '1' } };
  await env.client.daemonSets.create(ns, ds('big', {}, { nodeSelector: { 'kubernetes.io/hostname': 'small' }, containers: [{ name: 'c', image: 'agent:1', resources }] }));
  await eventually(() => nodesOf('big').length === 1, 8000, 'big pod created');
  await eventually(async () => (await env.events(ns, 'big')).some((e) => e === 'FailedPlacement: failed to place pod on "small": Insufficient cpu'), 5000, 'FailedPlacement event');
  await env.client.nodes.delete(null, 'small');
  await eventually(async () => (await getDs('agent')).status?.desiredNumberScheduled === 3, 5000, 'small gone');
});

test('rolling update with maxSurge keeps every node available', async () => {
  await env.client.daemonSets.create(ns, ds('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
  await eventually(async () => (await getDs('surge')).status?.numberAvailable === 3, 8000, 'surge ready');
  let maxUnavailable = 0;
  let maxPods = 0;
  watcher = () => {
    const running = podsOf('surge').filter((p) => p.status?.phase === 'Running');
    const ready = new Set(running.map((p) => targetNodeName(p)));
    maxUnavailable = Math.max(maxUnavailable, ['n1', 'n2', 'n3'].filter((n) => !ready.has(n)).length);
    maxPods = Math.max(maxPods, podsOf('surge').length);
  };
  await env.client.daemonSets.patch(ns, 'surge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, 'strategic');
  await eventually(async () => {
    const d = await getDs('surge');
    const s = d.status;
    return s?.observedGeneration === d.metadata!.generation && s?.updatedNumberScheduled === 3 && s?.numberAvailable === 3 && podsOf('surge').length === 3;
  }, 10000, 'surge rolled out');
  watcher = undefined;
  assert.equal(maxUnavailable, 0);
  assert.equal(maxPods, 4);
  for (const p of podsOf('surge')) assert.equal(p.spec.containers[0].image, 'agent:2');
});

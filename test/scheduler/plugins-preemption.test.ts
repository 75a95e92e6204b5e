// DefaultPreemption: victim selection and reprieve order, PDBs, node choice, eligibility,
// failure messages, and the AddPod/RemovePod interplay with InterPodAffinity on cloned state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNodeInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { Code, CycleState, Status, type Handle, type NodeInfo, type NodeToStatus, type Plugin, type Pod, type PodInfo } from '../../src/scheduler/framework/types.js';
import {
  DEFAULT_PREEMPTION,
  createDefaultPreemption,
  newDefaultPreemption,
  pickOneNodeForPreemption,
  type Candidate,
} from '../../src/scheduler/plugins/default-preemption.js';
import { newInterPodAffinity } from '../../src/scheduler/plugins/inter-pod-affinity.js';
import { newPodTopologySpread } from '../../src/scheduler/plugins/pod-topology-spread.js';

const HOST = 'kubernetes.io/hostname';

function node(name: string, cpu = '2', labels: Record<string, string> = {}) {
  return { metadata: { name, labels: { [HOST]: name, ...labels } }, status: { allocatable: { cpu, memory: '8Gi', pods: '110' } } };
}

let seq = 0;
function pod(name: string, o: { prio?: number; cpu?: string; labels?: Record<string, string>; start?: string; spec?: any; status?: any } = {}): Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}-${seq++}`, labels: o.labels ?? {} },
    spec: { priority: o.prio ?? 0, containers: [{ name: 'c', resources: { requests: { cpu: o.cpu ?? '1' } } }], ...o.spec },
    status: { startTime: o.start ?? '2024-01-01T00:00:00Z', ...o.status },
  };
}

/** A tiny NodeResourcesFit: cpu only. */
const cpuFit: Plugin = {
  name: 'CpuFit',
  filter(_s, p, n) {
    const need = newNodeInfo(node('x'), [p]).requested.milliCPU;
    return n.requested.milliCPU + need > n.allocatable.milliCPU ? Status.unschedulable('Insufficient cpu') : Status.success();
  },
};

interface World {
  handle: Handle;
  plugins: Plugin[];
  deleted: string[];
  nominations: Array<[string, string]>;
}

function world(nodes: NodeInfo[], opts: { pdbs?: any[]; nominated?: Record<string, PodInfo[]>; extraPlugins?: (h: Handle) => Plugin[] } = {}): World {
  const w: World = { handle: undefined as unknown as Handle, plugins: [], deleted: [], nominations: [] };
  const active = (state: CycleState) => w.plugins.filter((p) => !state.skipFilter.has(p.name));
  w.handle = {
    snapshot: snapshotOf(nodes),
    listers: {
      namespaceLabels: () => ({}),
      priorityClass: () => undefined,
      pvc: () => undefined,
      pv: () => undefined,
      pdbs: (ns) => (opts.pdbs ?? []).filter((p) => (p.metadata?.namespace ?? 'default') === ns),
    },
    async deletePod(p) {
      w.deleted.push(p.metadata!.name!);
    },
    async nominate(p, n) {
      w.nominations.push([p.metadata!.name!, n]);
    },
    nominatedPods: (n) => opts.nominated?.[n] ?? [],
    runFilters(state, p, n) {
      for (const pl of active(state)) {
        const st = pl.filter?.(state, p, n);
        if (st && !st.isSuccess()) return st;
      }
      return Status.success();
    },
    runPreFilterAddPod(state, p, toAdd, n) {
      for (const pl of active(state)) pl.addPod?.(state, p, toAdd, n);
      return Status.success();
    },
    runPreFilterRemovePod(state, p, toRemove, n) {
      for (const pl of active(state)) pl.removePod?.(state, p, toRemove, n);
      return Status.success();
    },
  };
  w.plugins = [cpuFit, ...(opts.extraPlugins?.(w.handle) ?? [])];
  return w;
}

/** One scheduling cycle up to PostFilter: PreFilter, Filter on every node, then preemption. */
async function cycle(w: World, p: Pod, nodes: NodeInfo[], preemption?: Plugin) {
  const state = new CycleState();
  for (const pl of w.plugins) {
    const r = pl.preFilter?.(state, p, nodes);
    if (r?.status.code === Code.Skip) state.skipFilter.add(pl.name);
  }
  const filtered: NodeToStatus = new Map();
  for (const n of nodes) filtered.set(n.name, w.handle.runFilters!(state, p, n));
  const pl = preemption ?? createDefaultPreemption(undefined, w.handle, { randomOffset: () => 0 });
  const r = await pl.postFilter!(state, p, filtered);
  return { state, filtered, ...r };
}

test('victims: lower priority first; more important pods are reprieved when the preemptor still fits', async () => {
  const low = pod('low', { prio: 1 });
  const mid = pod('mid', { prio: 5 });
  const high = pod('high', { prio: 100 });
  const nodes = [newNodeInfo(node('n1', '3'), [low, mid, high])];
  const w = world(nodes);
  const r = await cycle(w, pod('preemptor', { prio: 10 }), nodes);
  assert.equal(r.status.code, Code.Success);
  assert.equal(r.result?.nominatedNodeName, 'n1');
  // Only `low` has to go: `mid` is reprieved, `high` was never a candidate.
  assert.deepEqual(w.deleted, ['low']);
  assert.deepEqual(w.nominations, [['preemptor', 'n1']]);
});

test('equal start: older pods of equal priority are more important (reprieved first)', async () => {
  const older = pod('older', { prio: 1, start: '2024-01-01T00:00:00Z' });
  const newer = pod('newer', { prio: 1, start: '2024-06-01T00:00:00Z' });
  const nodes = [newNodeInfo(node('n1'), [newer, older])];
  const w = world(nodes);
  await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.deepEqual(w.deleted, ['newer']);
});

test('PDB-protected victims are reprieved first', async () => {
  const guarded = pod('guarded', { prio: 1, labels: { app: 'db' }, start: '2024-06-01T00:00:00Z' });
  const plain = pod('plain', { prio: 1, start: '2024-01-01T00:00:00Z' });
  const pdb = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0 } };
  const nodes = [newNodeInfo(node('n1'), [guarded, plain])];
  // Without the PDB the newer pod (guarded) would go; with it, plain goes.
  const w0 = world([newNodeInfo(node('n1'), [guarded, plain])]);
  await cycle(w0, pod('p', { prio: 10 }), w0.handle.snapshot.nodes());
  assert.deepEqual(w0.deleted, ['guarded']);
  const w = world(nodes, { pdbs: [pdb] });
  await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.deepEqual(w.deleted, ['plain']);
});

test('node choice: fewer PDB violations, then lower highest victim priority, then fewer victims', async () => {
  const pdb = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0 } };
  // n1: victim prio 1 but PDB-protected; n2: victim prio 5 unprotected → n2.
  let nodes = [newNodeInfo(node('n1'), [pod('a', { prio: 1, cpu: '2', labels: { app: 'db' } })]), newNodeInfo(node('n2'), [pod('b', { prio: 5, cpu: '2' })])];
  let w = world(nodes, { pdbs: [pdb] });
  let r = await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.equal(r.result?.nominatedNodeName, 'n2');
  // Lowest highest-priority victim wins.
  nodes = [newNodeInfo(node('n1'), [pod('a', { prio: 5, cpu: '2' })]), newNodeInfo(node('n2'), [pod('b', { prio: 3, cpu: '2' })])];
  w = world(nodes);
  r = await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.equal(r.result?.nominatedNodeName, 'n2');
  assert.deepEqual(w.deleted, ['b']);
  // Same top priority: smaller sum of priorities (here: fewer victims).
  nodes = [
    newNodeInfo(node('n1'), [pod('a1', { prio: 3 }), pod('a2', { prio: 3 })]),
    newNodeInfo(node('n2'), [pod('b1', { prio: 3, cpu: '2' })]),
  ];
  w = world(nodes);
  r = await cycle(w, pod('p', { prio: 10, cpu: '2' }), nodes);
  assert.equal(r.result?.nominatedNodeName, 'n2');
});

test('pickOneNodeForPreemption: latest start among highest-priority victims breaks ties', () => {
  const c = (nodeName: string, start: string): Candidate => ({ nodeName, numPDBViolations: 0, victims: [pod('v' + nodeName, { prio: 2, start })] });
  assert.equal(pickOneNodeForPreemption([c('a', '2024-01-01T00:00:00Z'), c('b', '2024-03-01T00:00:00Z')])?.nodeName, 'b');
  // Negative priorities: fewer victims still wins through the shifted sum.
  const many: Candidate = { nodeName: 'many', numPDBViolations: 0, victims: [pod('m1', { prio: -5 }), pod('m2', { prio: -5 })] };
  const one: Candidate = { nodeName: 'one', numPDBViolations: 0, victims: [pod('o1', { prio: -5 })] };
  assert.equal(pickOneNodeForPreemption([many, one])?.nodeName, 'one');
});

test('no preemption for preemptionPolicy Never or against equal-priority pods', async () => {
  const nodes = [newNodeInfo(node('n1'), [pod('a', { prio: 10, cpu: '2' })]), newNodeInfo(node('n2'), [pod('b', { prio: 10, cpu: '2' })])];
  let w = world(nodes);
  let r = await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.equal(r.status.code, Code.Unschedulable);
  assert.deepEqual(r.status.reasons, ['preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.']);
  assert.equal(r.result?.nominatedNodeName, '');
  assert.deepEqual(w.deleted, []);

  w = world(nodes);
  r = await cycle(w, pod('p', { prio: 100, spec: { preemptionPolicy: 'Never' } }), nodes);
  assert.equal(r.status.code, Code.Unschedulable);
  assert.deepEqual(r.status.reasons, ['preemption: not eligible due to preemptionPolicy=Never.']);
  assert.equal(r.result, undefined);
  assert.deepEqual(w.deleted, []);
});

test('only Unschedulable nodes are candidates; others count as not helpful', async () => {
  const nodes = [
    newNodeInfo(node('n1'), [pod('a', { prio: 10, cpu: '2' })]),
    newNodeInfo(node('n2'), [pod('b', { prio: 10, cpu: '2' })]),
    newNodeInfo(node('n3'), [pod('c', { prio: 1, cpu: '2' })]),
  ];
  const w = world(nodes);
  const pl = createDefaultPreemption(undefined, w.handle, { randomOffset: () => 0 });
  const filtered: NodeToStatus = new Map([
    ['n1', Status.unschedulable('Insufficient cpu')],
    ['n2', Status.unschedulable('Insufficient cpu')],
    ['n3', Status.unresolvable("node(s) didn't match Pod's node affinity/selector")],
  ]);
  const r = await pl.postFilter!(new CycleState(), pod('p', { prio: 5 }), filtered);
  assert.deepEqual(r.status.reasons, [
    'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  ]);
  // Nothing Unschedulable at all.
  const none = await pl.postFilter!(new CycleState(), pod('p', { prio: 5 }), new Map([['n3', Status.unresolvable('x')]]));
  assert.deepEqual(none.status.reasons, ['preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.']);
  // Removing every lower-priority pod still is not enough: the filter's reason is reported.
  const big = await pl.postFilter!(new CycleState(), pod('p', { prio: 5, cpu: '3' }), new Map([['n3', Status.unschedulable('Insufficient cpu')]]));
  assert.deepEqual(big.status.reasons, ['preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 Preemption is not helpful for scheduling.']);
});

test('a preemptor whose nominated node still has terminating victims waits', async () => {
  const dying = pod('dying', { prio: 1, cpu: '2', status: { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }] } });
  dying.metadata!.deletionTimestamp = '2024-01-01T00:00:00Z';
  const nodes = [newNodeInfo(node('n1'), [dying]), newNodeInfo(node('n2'), [pod('x', { prio: 1, cpu: '2' })])];
  const w = world(nodes);
  const r = await cycle(w, pod('p', { prio: 10, status: { nominatedNodeName: 'n1' } }), nodes);
  assert.deepEqual(r.status.reasons, ['preemption: not eligible due to a terminating pod on the nominated node.']);
  assert.deepEqual(w.deleted, []);
});

test('lower-priority pods nominated to the chosen node lose their nomination', async () => {
  const nodes = [newNodeInfo(node('n1'), [pod('a', { prio: 1, cpu: '2' })])];
  const waitingLow = newNodeInfo(node('x'), [pod('nominated-low', { prio: 2 })]).pods[0];
  const waitingHigh = newNodeInfo(node('x'), [pod('nominated-high', { prio: 50 })]).pods[0];
  const w = world(nodes, { nominated: { n1: [waitingLow, waitingHigh] } });
  const r = await cycle(w, pod('p', { prio: 10 }), nodes);
  assert.equal(r.result?.nominatedNodeName, 'n1');
  assert.deepEqual(w.nominations, [
    ['nominated-low', ''],
    ['p', 'n1'],
  ]);
});

test('anti-affinity to a lower-priority pod is resolved by preempting it, on a private copy of the state', async () => {
  const web = pod('web-old', { prio: 1, cpu: '0', labels: { app: 'web' } });
  const nodes = [newNodeInfo(node('n1'), [web])];
  const w = world(nodes, { extraPlugins: (h) => [newInterPodAffinity(undefined, h), newPodTopologySpread(undefined, h)] });
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: HOST }] } };
  const p = pod('web-new', { prio: 10, labels: { app: 'web' }, spec: { affinity: anti } });
  const r = await cycle(w, p, nodes);
  assert.equal(r.filtered.get('n1')!.code, Code.Unschedulable);
  assert.equal(r.status.code, Code.Success);
  assert.deepEqual(w.deleted, ['web-old']);
  // The dry run worked on clones: the cycle's own state and node are unchanged.
  assert.equal(w.handle.runFilters!(r.state, p, nodes[0]).code, Code.Unschedulable);
  assert.equal(nodes[0].pods.length, 1);
  assert.equal(newDefaultPreemption(undefined, w.handle).name, DEFAULT_PREEMPTION);
});

test('candidate limits: minCandidateNodesAbsolute / Percentage bound the dry run', async () => {
  const nodes = Array.from({ length: 5 }, (_, i) => newNodeInfo(node(`n${i}`), [pod(`v${i}`, { prio: 1 + i, cpu: '2' })]));
  const w = world(nodes);
  // Only one candidate wanted, scanning from offset 3: n3 is the only node dry-run.
  const pl = createDefaultPreemption({ minCandidateNodesAbsolute: 1, minCandidateNodesPercentage: 0 }, w.handle, { randomOffset: () => 3 });
  const r = await cycle(w, pod('p', { prio: 10 }), nodes, pl);
  assert.equal(r.result?.nominatedNodeName, 'n3');
  // With the defaults every node is examined and the lowest-priority victim wins.
  const w2 = world(nodes);
  const r2 = await cycle(w2, pod('p', { prio: 10 }), nodes, createDefaultPreemption(undefined, w2.handle, { randomOffset: () => 3 }));
  assert.equal(r2.result?.nominatedNodeName, 'n0');
});

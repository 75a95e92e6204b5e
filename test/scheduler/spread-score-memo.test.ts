// PodTopologySpread's PreScore/Score keep per-domain (and per-node, for hostname) counts across
// cycles, caught up from the snapshot's replaced NodeInfos. On random clusters and incremental
// updates (pods bound, assumed, forgotten, removed, terminating; nodes relabelled, some without a
// zone) the scores must equal those of the full count over a plain snapshot, for system default
// constraints (selectors from the pod's workloads), List defaults and the pod's own constraints,
// scored over all nodes or a subset of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorFromObject } from '../../src/apiserver/selectors.js';
import { CacheSnapshot, SchedulerCache } from '../../src/scheduler/cache.js';
import { podInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { Code, CycleState, type Handle, type NodeInfo, type NodeScore, type Plugin, type Pod, type Snapshot } from '../../src/scheduler/framework/types.js';
import { newPodTopologySpread } from '../../src/scheduler/plugins/pod-topology-spread.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';
const NODES = 24;

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function node(i: number, r?: () => number) {
  const name = `n${i}`;
  const labels: Record<string, string> = { [HOST]: name };
  // Some nodes have no zone (system defaults put them in the "" domain), some a rack.
  if (i % 7 !== 0) labels[ZONE] = `z${r ? Math.floor(r() * 4) : i % 3}`;
  if (i % 4 === 0) labels.rack = `r${i % 2}`;
  return { metadata: { name, labels }, status: { allocatable: { cpu: '64', memory: '64Gi', pods: '500' } } };
}

const apps = ['a', 'b', 'c'];
const namespaces = ['default', 'other'];
/** The workloads' selectors per app (what the listers would find: a Service and a ReplicaSet). */
const workloadSelectors = new Map(
  apps.map((app) => [
    app,
    [labelSelectorFromObject({ matchLabels: { app } }), labelSelectorFromObject({ matchLabels: { app, hash: 'h1' } })],
  ]),
);

let seq = 0;
function randomPod(r: () => number, incoming: boolean): Pod {
  const name = `p${++seq}`;
  const app = apps[Math.floor(r() * apps.length)];
  const labels: Record<string, string> = { app };
  if (r() < 0.7) labels.hash = 'h1';
  const spec: any = { containers: [{ name: 'c', image: 'pause' }] };
  if (incoming) {
    const kind = r();
    if (kind < 0.3) {
      const key = [ZONE, HOST, 'rack'][Math.floor(r() * 3)];
      spec.topologySpreadConstraints = [
        { maxSkew: 1 + Math.floor(r() * 3), topologyKey: key, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app } } },
      ];
      if (r() < 0.5)
        spec.topologySpreadConstraints.push({ maxSkew: 2, topologyKey: HOST, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } });
    }
    // Node affinity (honoured by default) and tolerations take the full count path.
    if (r() < 0.15) spec.nodeSelector = { [ZONE]: 'z1' };
  }
  const metadata: any = { name, namespace: namespaces[Math.floor(r() * 2)], uid: `uid-${name}`, labels };
  if (!incoming && r() < 0.05) metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  return { metadata, spec };
}

function handleOver(snapshot: Snapshot): Handle {
  return {
    snapshot,
    listers: {
      namespaceLabels: () => ({}),
      priorityClass: () => undefined,
      pvc: () => undefined,
      pv: () => undefined,
      pdbs: () => [],
      selectorsForPod: (p: Pod) => workloadSelectors.get(p.metadata?.labels?.app ?? '') ?? [],
    },
  };
}

/** Raw and normalized Score per node (or "skip"). */
function scoreAll(pl: Plugin, p: Pod, nodes: NodeInfo[]): string {
  const state = new CycleState();
  if (pl.preScore!(state, p, nodes).code === Code.Skip) return 'skip';
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: pl.score!(state, p, n).score }));
  const raw = scores.map((s) => s.score).join(',');
  pl.normalizeScore!(state, p, scores);
  return `${raw} | ${scores.map((s) => `${s.name}:${s.score}`).join(' ')}`;
}

test('kept PreScore/Score counts of PodTopologySpread equal the full count, through incremental updates', () => {
  const r = rng(7);
  const cache = new SchedulerCache();
  for (let i = 0; i < NODES; i++) cache.addNode(node(i));
  const snap = new CacheSnapshot();
  const kept = handleOver(snap);
  const full = handleOver(snapshotOf([]));
  const listArgs = {
    defaultingType: 'List',
    defaultConstraints: [
      { maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'ScheduleAnyway' },
      { maxSkew: 1, topologyKey: HOST, whenUnsatisfiable: 'ScheduleAnyway' },
    ],
  };
  // One instance each for the whole test, so the kept counts live across snapshot updates.
  const pairs = [
    [newPodTopologySpread(undefined, kept), newPodTopologySpread(undefined, full)],
    [newPodTopologySpread(listArgs, kept), newPodTopologySpread(listArgs, full)],
  ];
  const placed: Pod[] = [];
  const assumed: Pod[] = [];
  let compared = 0;
  for (let round = 0; round < 60; round++) {
    for (let k = 0; k < 6; k++) {
      const p = randomPod(r, false);
      const nodeName = `n${Math.floor(r() * NODES)}`;
      if (r() < 0.3) assumed.push(cache.assumePod(podInfo(p), nodeName));
      else {
        const bound = { ...p, spec: { ...p.spec, nodeName } };
        cache.addPod(bound);
        placed.push(bound);
      }
    }
    if (assumed.length && r() < 0.5) cache.forgetPod(assumed.splice(Math.floor(r() * assumed.length), 1)[0]);
    if (placed.length && r() < 0.5) cache.removePod(placed.splice(Math.floor(r() * placed.length), 1)[0]);
    if (r() < 0.15) cache.updateNode(node(Math.floor(r() * NODES), r));
    // Several cycles between some updates, none between others.
    if (r() < 0.8) cache.updateSnapshot(snap);
    full.snapshot = snapshotOf(snap.nodes());

    for (let k = 0; k < 8; k++) {
      const incoming = randomPod(r, true);
      const all = snap.nodes();
      const subset = all.filter(() => r() < 0.4);
      for (const nodes of [all, subset]) {
        for (const [a, b] of pairs) {
          const got = scoreAll(a, incoming, nodes);
          assert.equal(got, scoreAll(b, incoming, nodes), `round ${round}: ${JSON.stringify(incoming)}`);
          if (got !== 'skip') compared++;
        }
      }
    }
  }
  assert.ok(compared > 500, `compared ${compared} scorings`);
});

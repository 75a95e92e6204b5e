// The snapshot's pod indexes (by label, and existing anti-affinity terms by label) must give
// InterPodAffinity and PodTopologySpread exactly the answers of a full walk over the pods, also
// after incremental snapshot updates (pods added, assumed, forgotten, removed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheSnapshot, SchedulerCache } from '../../src/scheduler/cache.js';
import { podInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { Code, CycleState, type Handle, type NodeInfo, type Plugin, type Pod, type Snapshot } from '../../src/scheduler/framework/types.js';
import { newInterPodAffinity } from '../../src/scheduler/plugins/inter-pod-affinity.js';
import { newPodTopologySpread } from '../../src/scheduler/plugins/pod-topology-spread.js';
import { newImageLocality } from '../../src/scheduler/plugins/image-locality.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function node(i: number) {
  const name = `n${i}`;
  return {
    metadata: { name, labels: { [HOST]: name, [ZONE]: `z${i % 3}`, ...(i % 5 === 0 ? { rack: `r${i % 2}` } : {}) } },
    status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110' }, images: i % 4 === 0 ? [{ names: ['docker.io/library/nginx:latest'], sizeBytes: 300 * 1024 * 1024 }] : [] },
  };
}

const apps = ['a', 'b', 'c'];
const namespaces = ['default', 'other'];

function term(r: () => number, key: string) {
  const app = apps[Math.floor(r() * apps.length)];
  const kind = r();
  const labelSelector =
    kind < 0.5
      ? { matchLabels: { app } }
      : kind < 0.7
        ? { matchExpressions: [{ key: 'app', operator: 'In', values: [app, 'c'] }] }
        : kind < 0.85
          ? { matchExpressions: [{ key: 'app', operator: 'Exists' }] }
          : { matchLabels: { app }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] };
  return { topologyKey: key, labelSelector, ...(r() < 0.2 ? { namespaces: namespaces } : {}) };
}

let seq = 0;
function randomPod(r: () => number, withConstraints: boolean): Pod {
  const name = `p${++seq}`;
  const labels: Record<string, string> = { app: apps[Math.floor(r() * apps.length)] };
  if (r() < 0.3) labels.tier = r() < 0.5 ? 'x' : 'y';
  const spec: any = { containers: [{ name: 'c', image: r() < 0.5 ? 'nginx' : 'busybox' }] };
  const keys = [HOST, ZONE, 'rack'];
  if (withConstraints || r() < 0.3) {
    const aff: any = {};
    if (r() < 0.5) aff.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [term(r, keys[Math.floor(r() * 3)])] };
    if (r() < 0.3) aff.podAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [term(r, keys[Math.floor(r() * 3)])] };
    if (r() < 0.2) aff.podAffinity = { ...aff.podAffinity, preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term(r, ZONE) }] };
    spec.affinity = aff;
  }
  if (withConstraints && r() < 0.7) {
    spec.topologySpreadConstraints = [
      { maxSkew: 1, topologyKey: r() < 0.5 ? ZONE : HOST, whenUnsatisfiable: 'DoNotSchedule', labelSelector: term(r, ZONE).labelSelector },
    ];
    if (r() < 0.3) spec.nodeSelector = { [ZONE]: 'z1' };
  }
  return { metadata: { name, namespace: namespaces[Math.floor(r() * 2)], uid: `uid-${name}`, labels }, spec };
}

function handleOver(snapshot: Snapshot): Handle {
  return {
    snapshot,
    listers: { namespaceLabels: () => ({}), priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [] },
  };
}

/** Filter codes per node, and the PreFilter code. */
function filterAll(pl: Plugin, p: Pod, nodes: NodeInfo[]): string {
  const state = new CycleState();
  const pre = pl.preFilter!(state, p, nodes);
  if (pre.status.code === Code.Skip) return 'skip';
  return nodes.map((n) => `${n.name}:${pl.filter!(state, p, n).code}`).join(' ');
}

/** Raw Score per node (or "skip"). */
function scoreAll(pl: Plugin, p: Pod, nodes: NodeInfo[]): string {
  const state = new CycleState();
  if (pl.preScore!(state, p, nodes).code === Code.Skip) return 'skip';
  return nodes.map((n) => pl.score!(state, p, n).score).join(',');
}

test('indexed PreFilter/Filter of InterPodAffinity and PodTopologySpread equal a full walk, through incremental updates', () => {
  const r = rng(42);
  const cache = new SchedulerCache();
  for (let i = 0; i < 30; i++) cache.addNode(node(i));
  const snap = new CacheSnapshot();
  const indexed = handleOver(snap);
  const walked = handleOver(snapshotOf([]));
  // One instance each for the whole test, so per-plugin memos live across snapshot updates.
  const affinityIndexed = newInterPodAffinity(undefined, indexed);
  const affinityWalked = newInterPodAffinity(undefined, walked);
  const spreadIndexed = newPodTopologySpread(undefined, indexed);
  const spreadWalked = newPodTopologySpread(undefined, walked);
  const placed: Pod[] = [];
  const assumed: Pod[] = [];
  for (let round = 0; round < 40; round++) {
    // Change the cluster: bind a few pods, assume some, forget or remove some.
    for (let k = 0; k < 5; k++) {
      const p = randomPod(r, false);
      const nodeName = `n${Math.floor(r() * 30)}`;
      if (r() < 0.3) assumed.push(cache.assumePod(podInfo(p), nodeName));
      else {
        const bound = { ...p, spec: { ...p.spec, nodeName } };
        cache.addPod(bound);
        placed.push(bound);
      }
    }
    if (assumed.length && r() < 0.5) cache.forgetPod(assumed.splice(Math.floor(r() * assumed.length), 1)[0]);
    if (placed.length && r() < 0.5) cache.removePod(placed.splice(Math.floor(r() * placed.length), 1)[0]);
    // Relabel a node now and then (memoized topology domains must follow).
    if (r() < 0.3) {
      const n = node(Math.floor(r() * 30));
      if (r() < 0.5) n.metadata.labels.rack = `r${Math.floor(r() * 3)}`;
      else n.metadata.labels[ZONE] = `z${Math.floor(r() * 4)}`;
      cache.updateNode(n);
    }
    cache.updateSnapshot(snap);

    walked.snapshot = snapshotOf(snap.nodes());
    const plugins = [
      [affinityIndexed, affinityWalked],
      [spreadIndexed, spreadWalked],
    ];
    for (let k = 0; k < 10; k++) {
      const incoming = randomPod(r, true);
      for (const [a, b] of plugins) {
        assert.equal(filterAll(a, incoming, snap.nodes()), filterAll(b, incoming, snap.nodes()), `round ${round}: ${a.name} for ${JSON.stringify(incoming.spec)}`);
      }
      assert.deepEqual(scoreAll(affinityIndexed, incoming, snap.nodes()), scoreAll(affinityWalked, incoming, snap.nodes()), `round ${round}: scores`);
    }
  }
});

test('ImageLocality: per-image node counts from the snapshot give the same scores; no node with the image skips', () => {
  const cache = new SchedulerCache();
  for (let i = 0; i < 12; i++) cache.addNode(node(i));
  const snap = new CacheSnapshot();
  cache.updateSnapshot(snap);
  assert.equal(snap.imageNodeCount('docker.io/library/nginx:latest'), 3);
  const score = (h: Handle, image: string) => {
    const pl = newImageLocality(undefined, h);
    const state = new CycleState();
    const p: Pod = { metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image }] } };
    const st = pl.preScore!(state, p, snap.nodes());
    if (st.code === Code.Skip) return 'skip';
    return snap.nodes().map((n) => pl.score!(state, p, n).score).join(',');
  };
  assert.equal(score(handleOver(snap), 'nginx'), score(handleOver(snapshotOf(snap.nodes())), 'nginx'));
  assert.match(score(handleOver(snap), 'nginx'), /[1-9]/);
  assert.equal(score(handleOver(snap), 'busybox'), 'skip');
  // A node update that drops the image is counted out.
  const n0 = node(0);
  n0.status.images = [];
  cache.updateNode(n0);
  cache.updateSnapshot(snap);
  assert.equal(snap.imageNodeCount('docker.io/library/nginx:latest'), 2);
});

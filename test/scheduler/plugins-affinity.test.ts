// InterPodAffinity: required (anti-)affinity filtering incl. symmetry and the self-affinity
// special case, namespace selection, AddPod/RemovePod, and preferred-term scoring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNodeInfo, podInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { Code, CycleState, type Handle, type NodeInfo, type NodeScore, type Plugin, type Pod } from '../../src/scheduler/framework/types.js';
import {
  ERR_REASON_AFFINITY_RULES_NOT_MATCH,
  ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
  ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
  INTER_POD_AFFINITY,
  newInterPodAffinity,
} from '../../src/scheduler/plugins/inter-pod-affinity.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

function node(name: string, labels: Record<string, string> = {}) {
  return { metadata: { name, labels: { [HOST]: name, ...labels } }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } };
}

function pod(name: string, opts: { ns?: string; labels?: Record<string, string>; affinity?: any } = {}): Pod {
  return {
    metadata: { name, namespace: opts.ns ?? 'default', uid: `uid-${name}`, labels: opts.labels ?? {} },
    spec: { containers: [{ name: 'c' }], affinity: opts.affinity },
  };
}

const term = (matchLabels: Record<string, string>, topologyKey: string, extra: any = {}) => ({ labelSelector: { matchLabels }, topologyKey, ...extra });

function setup(nodes: NodeInfo[], args?: Record<string, unknown>, nsLabels: Record<string, Record<string, string>> = {}) {
  const handle: Handle = {
    snapshot: snapshotOf(nodes),
    listers: {
      namespaceLabels: (n) => nsLabels[n] ?? (n === 'default' ? {} : undefined),
      priorityClass: () => undefined,
      pvc: () => undefined,
      pv: () => undefined,
      pdbs: () => [],
    },
  };
  return newInterPodAffinity(args, handle);
}

/** PreFilter then Filter on every node; a skipped PreFilter means every node passes. */
function filterAll(pl: Plugin, p: Pod, nodes: NodeInfo[]) {
  const state = new CycleState();
  const pre = pl.preFilter!(state, p, nodes);
  const out = new Map<string, { code: Code; reasons: string[] }>();
  for (const n of nodes) {
    const st = pre.status.code === Code.Skip ? { code: Code.Success, reasons: [] } : pl.filter!(state, p, n);
    out.set(n.name, { code: st.code, reasons: st.reasons });
  }
  return { state, pre, out };
}

test('existing pod anti-affinity rejects the incoming pod in its topology (symmetry)', () => {
  const guard = pod('guard', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, ZONE)] } } });
  const nodes = [newNodeInfo(node('a', { [ZONE]: 'z1' }), [guard]), newNodeInfo(node('b', { [ZONE]: 'z1' })), newNodeInfo(node('c', { [ZONE]: 'z2' }))];
  const pl = setup(nodes);
  const { pre, out } = filterAll(pl, pod('web', { labels: { app: 'web' } }), nodes);
  assert.equal(pre.status.code, Code.Success);
  assert.deepEqual(out.get('a'), { code: Code.Unschedulable, reasons: [ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH] });
  assert.deepEqual(out.get('b'), { code: Code.Unschedulable, reasons: [ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH] });
  assert.equal(out.get('c')!.code, Code.Success);
  // A pod the guard does not select is unaffected: PreFilter skips.
  assert.equal(filterAll(pl, pod('db', { labels: { app: 'db' } }), nodes).pre.status.code, Code.Skip);
});

test('affinity: first pod of a self-affine group is allowed; nodes without the key are not', () => {
  const nodes = [newNodeInfo(node('a', { [ZONE]: 'z1' })), newNodeInfo(node('b', { [ZONE]: 'z2' })), newNodeInfo(node('nolabel'))];
  const pl = setup(nodes);
  const aff = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, ZONE)] } };
  const { out } = filterAll(pl, pod('db-0', { labels: { app: 'db' }, affinity: aff }), nodes);
  assert.equal(out.get('a')!.code, Code.Success);
  assert.equal(out.get('b')!.code, Code.Success);
  assert.deepEqual(out.get('nolabel'), { code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_AFFINITY_RULES_NOT_MATCH] });
  // A pod that does not match its own term gets no such exception.
  const other = filterAll(pl, pod('x', { labels: { app: 'other' }, affinity: aff }), nodes);
  assert.equal(other.out.get('a')!.code, Code.UnschedulableAndUnresolvable);
});

test('affinity: only the topology holding a matching pod passes', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), [pod('db-0', { labels: { app: 'db' } })]),
    newNodeInfo(node('b', { [ZONE]: 'z1' })),
    newNodeInfo(node('c', { [ZONE]: 'z2' })),
  ];
  const pl = setup(nodes);
  const aff = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, ZONE)] } };
  const { out } = filterAll(pl, pod('db-1', { labels: { app: 'db' }, affinity: aff }), nodes);
  assert.equal(out.get('a')!.code, Code.Success);
  assert.equal(out.get('b')!.code, Code.Success);
  assert.deepEqual(out.get('c'), { code: Code.UnschedulableAndUnresolvable, reasons: [ERR_REASON_AFFINITY_RULES_NOT_MATCH] });
});

test('incoming anti-affinity rejects the host of a matching pod; RemovePod lifts it', () => {
  const victim = pod('web-0', { labels: { app: 'web' } });
  const nodes = [newNodeInfo(node('a'), [victim]), newNodeInfo(node('b'))];
  const pl = setup(nodes);
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST)] } };
  const incoming = pod('web-1', { labels: { app: 'web' }, affinity: anti });
  const { state, out } = filterAll(pl, incoming, nodes);
  assert.deepEqual(out.get('a'), { code: Code.Unschedulable, reasons: [ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH] });
  assert.equal(out.get('b')!.code, Code.Success);
  // The victim's own identical anti-affinity would not matter here: it has none.
  pl.removePod!(state, incoming, podInfo(victim), nodes[0]);
  assert.equal(pl.filter!(state, incoming, nodes[0]).code, Code.Success);
  pl.addPod!(state, incoming, podInfo(victim), nodes[0]);
  assert.equal(pl.filter!(state, incoming, nodes[0]).code, Code.Unschedulable);
});

test('namespaces and namespaceSelector decide which pods a term sees', () => {
  const nodes = [
    newNodeInfo(node('a'), [pod('p-in-team-a', { ns: 'ns-a', labels: { app: 'web' } })]),
    newNodeInfo(node('b'), [pod('p-in-team-b', { ns: 'ns-b', labels: { app: 'web' } })]),
    newNodeInfo(node('c'), [pod('p-default', { labels: { app: 'web' } })]),
  ];
  const pl = setup(nodes, undefined, { 'ns-a': { team: 'a' }, 'ns-b': { team: 'b' } });
  const bySelector = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST, { namespaceSelector: { matchLabels: { team: 'a' } } })] } };
  let { out } = filterAll(pl, pod('x', { affinity: bySelector }), nodes);
  assert.deepEqual([...out].map(([n, s]) => `${n}:${s.code}`), ['a:2', 'b:0', 'c:0']);
  // Default: the pod's own namespace only.
  const own = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST)] } };
  ({ out } = filterAll(pl, pod('x', { affinity: own }), nodes));
  assert.deepEqual([...out].map(([n, s]) => `${n}:${s.code}`), ['a:0', 'b:0', 'c:2']);
  // An empty namespaceSelector selects all namespaces.
  const all = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST, { namespaceSelector: {} })] } };
  ({ out } = filterAll(pl, pod('x', { affinity: all }), nodes));
  assert.deepEqual([...out].map(([n, s]) => `${n}:${s.code}`), ['a:2', 'b:2', 'c:2']);
  // Explicit namespaces list.
  const listed = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST, { namespaces: ['ns-b'] })] } };
  ({ out } = filterAll(pl, pod('x', { affinity: listed }), nodes));
  assert.deepEqual([...out].map(([n, s]) => `${n}:${s.code}`), ['a:0', 'b:2', 'c:0']);
});

function scoreAll(pl: Plugin, p: Pod, nodes: NodeInfo[]): Record<string, number> | 'skip' {
  const state = new CycleState();
  const st = pl.preScore!(state, p, nodes);
  if (st.code === Code.Skip) return 'skip';
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: pl.score!(state, p, n).score }));
  pl.normalizeScore!(state, p, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}

test('preferred affinity and anti-affinity weights score by topology, normalized to 0..100', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), [pod('cache', { labels: { app: 'cache' } })]),
    newNodeInfo(node('b', { [ZONE]: 'z1' })),
    newNodeInfo(node('c', { [ZONE]: 'z2' }), [pod('noisy', { labels: { app: 'noisy' } })]),
    newNodeInfo(node('d', { [ZONE]: 'z3' })),
  ];
  const pl = setup(nodes);
  const affinity = {
    podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'cache' }, ZONE) }] },
    podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term({ app: 'noisy' }, ZONE) }] },
  };
  // Raw: z1 +10, z2 -5, z3 0 → (s - min) / (max - min) * 100.
  assert.deepEqual(scoreAll(pl, pod('web', { affinity }), nodes), { a: 100, b: 100, c: 0, d: 33 });
  // No preferred terms anywhere: PreScore skips.
  assert.equal(scoreAll(pl, pod('plain'), nodes), 'skip');
});

test("existing pods' terms toward the incoming pod count too (hardPodAffinityWeight)", () => {
  const clingy = pod('clingy', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'web' }, HOST)] } } });
  const shy = pod('shy', {
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 3, podAffinityTerm: term({ app: 'web' }, HOST) }] } },
  });
  const nodes = [newNodeInfo(node('a'), [clingy]), newNodeInfo(node('b'), [shy]), newNodeInfo(node('c'))];
  const incoming = pod('web', { labels: { app: 'web' } });
  // Default weight 1: a=+1, b=-3, c=0.
  assert.deepEqual(scoreAll(setup(nodes), incoming, nodes), { a: 100, b: 0, c: 75 });
  // Weight 0 ignores existing required affinity: a=0, b=-3, c=0.
  assert.deepEqual(scoreAll(setup(nodes, { hardPodAffinityWeight: 0 }), incoming, nodes), { a: 100, b: 0, c: 100 });
  // ignorePreferredTermsOfExistingPods with no own terms: skip.
  assert.equal(scoreAll(setup(nodes, { ignorePreferredTermsOfExistingPods: true }), incoming, nodes), 'skip');
  assert.equal(setup(nodes).name, INTER_POD_AFFINITY);
});

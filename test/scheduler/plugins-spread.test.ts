// PodTopologySpread: skew filtering (minDomains, missing labels, inclusion policies,
// matchLabelKeys), AddPod/RemovePod, ScheduleAnyway scoring and system default constraints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorFromObject } from '../../src/apiserver/selectors.js';
import { newNodeInfo, podInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { Code, CycleState, type Handle, type NodeInfo, type NodeScore, type Plugin, type Pod } from '../../src/scheduler/framework/types.js';
import {
  ERR_REASON_CONSTRAINTS_NOT_MATCH,
  ERR_REASON_NODE_LABEL_NOT_MATCH,
  newPodTopologySpread,
  topologyNormalizingWeight,
} from '../../src/scheduler/plugins/pod-topology-spread.js';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

function node(name: string, labels: Record<string, string> = {}, taints?: any[]) {
  return { metadata: { name, labels: { [HOST]: name, ...labels } }, spec: { taints }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } };
}

function pod(name: string, labels: Record<string, string> = {}, spec: any = {}, ns = 'default'): Pod {
  return { metadata: { name, namespace: ns, uid: `uid-${name}`, labels }, spec: { containers: [{ name: 'c' }], ...spec } };
}

const foo = (n: number, prefix: string, extra: Record<string, string> = {}) => Array.from({ length: n }, (_, i) => pod(`${prefix}-${i}`, { app: 'foo', ...extra }));

function constraint(topologyKey: string, maxSkew: number, extra: any = {}) {
  return { topologyKey, maxSkew, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'foo' } }, ...extra };
}

function setup(nodes: NodeInfo[], args?: Record<string, unknown>, selectorsForPod?: Handle['listers']['selectorsForPod']) {
  const handle: Handle = {
    snapshot: snapshotOf(nodes),
    listers: { namespaceLabels: () => ({}), priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [], selectorsForPod },
  };
  return newPodTopologySpread(args, handle);
}

function filterAll(pl: Plugin, p: Pod, nodes: NodeInfo[]) {
  const state = new CycleState();
  const pre = pl.preFilter!(state, p, nodes);
  const codes: Record<string, number> = {};
  const reasons: Record<string, string[]> = {};
  for (const n of nodes) {
    const st = pre.status.code === Code.Skip ? { code: Code.Success, reasons: [] } : pl.filter!(state, p, n);
    codes[n.name] = st.code;
    if (st.reasons.length) reasons[n.name] = st.reasons;
  }
  return { state, pre, codes, reasons };
}

test('skew: matching pods in the domain + self − global minimum must not exceed maxSkew', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(2, 'a')),
    newNodeInfo(node('b', { [ZONE]: 'z2' }), foo(1, 'b')),
    newNodeInfo(node('c', { [ZONE]: 'z2' })),
  ];
  const pl = setup(nodes);
  const { codes, reasons } = filterAll(pl, pod('new', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1)] }), nodes);
  // z1: 2 + 1 − 1 = 2 > 1; z2: 1 + 1 − 1 = 1.
  assert.deepEqual(codes, { a: Code.Unschedulable, b: Code.Success, c: Code.Success });
  assert.deepEqual(reasons.a, [ERR_REASON_CONSTRAINTS_NOT_MATCH]);
  // A pod the selector does not match adds no self-count: 2 + 0 − 1 = 1.
  const other = filterAll(pl, pod('other', { app: 'bar' }, { topologySpreadConstraints: [constraint(ZONE, 1)] }), nodes);
  assert.deepEqual(other.codes, { a: Code.Success, b: Code.Success, c: Code.Success });
});

test('nodes without the topology key are unresolvable and are no domain', () => {
  const nodes = [newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(1, 'a')), newNodeInfo(node('bare'))];
  const pl = setup(nodes);
  const { codes, reasons } = filterAll(pl, pod('new', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1)] }), nodes);
  // Only z1 is a domain: min is 1, so z1 passes (1 + 1 − 1 = 1).
  assert.deepEqual(codes, { a: Code.Success, bare: Code.UnschedulableAndUnresolvable });
  assert.deepEqual(reasons.bare, [ERR_REASON_NODE_LABEL_NOT_MATCH]);
  assert.equal(ERR_REASON_NODE_LABEL_NOT_MATCH, "node(s) didn't match pod topology spread constraints (missing required label)");
});

test('minDomains: with fewer eligible domains the global minimum counts as 0', () => {
  const nodes = [newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(1, 'a')), newNodeInfo(node('b', { [ZONE]: 'z2' }), foo(1, 'b'))];
  const pl = setup(nodes);
  const without = filterAll(pl, pod('new', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1)] }), nodes);
  assert.deepEqual(without.codes, { a: Code.Success, b: Code.Success });
  const withMin = filterAll(pl, pod('new', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1, { minDomains: 3 })] }), nodes);
  assert.deepEqual(withMin.codes, { a: Code.Unschedulable, b: Code.Unschedulable });
  const enough = filterAll(pl, pod('new', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1, { minDomains: 2 })] }), nodes);
  assert.deepEqual(enough.codes, { a: Code.Success, b: Code.Success });
});

test('nodeAffinityPolicy Honor (default) leaves nodes the pod cannot use out of the domains', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1', disk: 'ssd' }), foo(1, 'a')),
    newNodeInfo(node('b', { [ZONE]: 'z2', disk: 'ssd' }), foo(1, 'b')),
    newNodeInfo(node('c', { [ZONE]: 'z3', disk: 'hdd' })),
  ];
  const pl = setup(nodes);
  const spec = (extra: any) => ({ nodeSelector: { disk: 'ssd' }, topologySpreadConstraints: [constraint(ZONE, 1, extra)] });
  // Honor: z3 is not a domain, min = 1 → ssd zones pass.
  assert.deepEqual(filterAll(pl, pod('new', { app: 'foo' }, spec({})), nodes).codes, { a: 0, b: 0, c: 0 });
  // Ignore: the empty z3 is a domain, min = 0 → 1 + 1 − 0 = 2 > 1.
  assert.deepEqual(filterAll(pl, pod('new', { app: 'foo' }, spec({ nodeAffinityPolicy: 'Ignore' })), nodes).codes, { a: 2, b: 2, c: 0 });
});

test('nodeTaintsPolicy Honor leaves untolerated tainted nodes out of the domains', () => {
  const taint = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(1, 'a')),
    newNodeInfo(node('b', { [ZONE]: 'z2' }, taint)),
  ];
  const pl = setup(nodes);
  const spec = (extra: any, tolerations?: any[]) => ({ tolerations, topologySpreadConstraints: [constraint(ZONE, 1, extra)] });
  // Ignore (default): empty z2 counts, min 0 → z1 rejected.
  assert.equal(filterAll(pl, pod('n', { app: 'foo' }, spec({})), nodes).codes.a, Code.Unschedulable);
  // Honor: z2 excluded → z1 passes.
  assert.equal(filterAll(pl, pod('n', { app: 'foo' }, spec({ nodeTaintsPolicy: 'Honor' })), nodes).codes.a, Code.Success);
  // Honor with a matching toleration: z2 counts again.
  const tol = [{ key: 'dedicated', operator: 'Exists' }];
  assert.equal(filterAll(pl, pod('n', { app: 'foo' }, spec({ nodeTaintsPolicy: 'Honor' }, tol)), nodes).codes.a, Code.Unschedulable);
});

test('matchLabelKeys narrows counting to pods with the same label values', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(3, 'old', { rev: '1' })),
    newNodeInfo(node('b', { [ZONE]: 'z2' }), foo(1, 'new', { rev: '2' })),
  ];
  const pl = setup(nodes);
  const p = pod('n', { app: 'foo', rev: '2' }, { topologySpreadConstraints: [constraint(ZONE, 1, { matchLabelKeys: ['rev'] })] });
  // Only rev=2 pods count: z1 0, z2 1 → z2: 1 + 1 − 0 = 2 > 1, z1 fine.
  assert.deepEqual(filterAll(pl, p, nodes).codes, { a: Code.Success, b: Code.Unschedulable });
});

test('terminating pods and other namespaces are not counted; AddPod/RemovePod update counts', () => {
  const terminating = pod('t', { app: 'foo' });
  terminating.metadata!.deletionTimestamp = '2024-01-01T00:00:00Z';
  const elsewhere = pod('e', { app: 'foo' }, {}, 'other');
  const victim = pod('v', { app: 'foo' });
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), [terminating, elsewhere, ...foo(1, 'a'), victim]),
    newNodeInfo(node('b', { [ZONE]: 'z2' })),
  ];
  const pl = setup(nodes);
  const p = pod('n', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1)] });
  const { state, codes } = filterAll(pl, p, nodes);
  assert.deepEqual(codes, { a: Code.Unschedulable, b: Code.Success }); // z1 = 2
  pl.removePod!(state, p, podInfo(victim), nodes[0]);
  // z1: 1 + 1 − 0 = 2 still > 1
  assert.equal(pl.filter!(state, p, nodes[0]).code, Code.Unschedulable);
  pl.removePod!(state, p, podInfo(foo(1, 'a')[0]), nodes[0]);
  assert.equal(pl.filter!(state, p, nodes[0]).code, Code.Success);
  pl.addPod!(state, p, podInfo(victim), nodes[1]);
  // z1 = 0, z2 = 1: z2 now 1 + 1 − 0 = 2 > 1
  assert.equal(pl.filter!(state, p, nodes[1]).code, Code.Unschedulable);
  // Pods of other namespaces never change the counts.
  pl.addPod!(state, p, podInfo(elsewhere), nodes[0]);
  assert.equal(pl.filter!(state, p, nodes[0]).code, Code.Success);
});

function scoreAll(pl: Plugin, p: Pod, nodes: NodeInfo[]): Record<string, number> | 'skip' {
  const state = new CycleState();
  const st = pl.preScore!(state, p, nodes);
  if (st.code === Code.Skip) return 'skip';
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: pl.score!(state, p, n).score }));
  pl.normalizeScore!(state, p, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}

test('ScheduleAnyway: fewer matching pods in the domain scores higher', () => {
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(3, 'a')),
    newNodeInfo(node('b', { [ZONE]: 'z2' }), foo(1, 'b')),
    newNodeInfo(node('c', { [ZONE]: 'z3' })),
    newNodeInfo(node('bare')),
  ];
  const pl = setup(nodes);
  const p = pod('n', { app: 'foo' }, { topologySpreadConstraints: [constraint(ZONE, 1, { whenUnsatisfiable: 'ScheduleAnyway' })] });
  // DoNotSchedule has nothing to check.
  assert.equal(pl.preFilter!(new CycleState(), p, nodes).status.code, Code.Skip);
  // weight = log(3 + 2); raw = round(count * weight): a 5, b 2, c 0; score = 100 * (max + min − s) / max.
  const w = topologyNormalizingWeight(3);
  assert.equal(Math.round(3 * w), 5);
  assert.deepEqual(scoreAll(pl, p, nodes), { a: 0, b: 60, c: 100, bare: 0 });
});

test('system default constraints spread pods selected by the same workload', () => {
  const rsSelector = labelSelectorFromObject({ matchLabels: { app: 'foo' } });
  const nodes = [
    newNodeInfo(node('a', { [ZONE]: 'z1' }), foo(2, 'a')),
    newNodeInfo(node('b', { [ZONE]: 'z1' })),
    newNodeInfo(node('c')), // no zone: still gets hostname spreading under system defaults
  ];
  const pl = setup(nodes, undefined, () => [rsSelector]);
  const p = pod('n', { app: 'foo' });
  assert.equal(pl.preFilter!(new CycleState(), p, nodes).status.code, Code.Skip); // defaults are ScheduleAnyway
  const scores = scoreAll(pl, p, nodes) as Record<string, number>;
  assert.ok(scores.b > scores.a, JSON.stringify(scores));
  assert.ok(scores.c >= scores.b, JSON.stringify(scores));
  // No workload selects the pod: nothing to spread.
  assert.equal(scoreAll(setup(nodes, undefined, () => []), p, nodes), 'skip');
  // defaultingType List with no constraints: nothing either.
  assert.equal(scoreAll(setup(nodes, { defaultingType: 'List', defaultConstraints: [] }, () => [rsSelector]), p, nodes), 'skip');
  // List with a DoNotSchedule default: filtering uses the workload selector.
  const listed = setup(nodes, { defaultingType: 'List', defaultConstraints: [{ topologyKey: ZONE, maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }] }, () => [rsSelector]);
  assert.deepEqual(filterAll(listed, p, nodes).codes, { a: Code.Success, b: Code.Success, c: Code.UnschedulableAndUnresolvable });
});

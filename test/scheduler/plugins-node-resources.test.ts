import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, Code } from '../../src/scheduler/framework/types.js';
import {
  NODE_RESOURCES_FIT,
  brokenLinearFunction,
  newNodeResourcesFit,
  type NodeResourcesFitArgs,
} from '../../src/scheduler/plugins/node-resources-fit.js';
import { NODE_RESOURCES_BALANCED_ALLOCATION, newNodeResourcesBalancedAllocation } from '../../src/scheduler/plugins/node-resources-balanced-allocation.js';
import { makeHandle, makeNode, makePod, nodeInfos, scoreAll } from './plugins-node-fixtures.js';

const fit = (args?: NodeResourcesFitArgs) => newNodeResourcesFit(args as any, makeHandle([]));

function filter(args: NodeResourcesFitArgs | undefined, pod: any, ni: any) {
  const p = fit(args);
  const state = new CycleState();
  p.preFilter!(state, pod, [ni]);
  return p.filter!(state, pod, ni);
}

test('NodeResourcesFit: name', () => {
  assert.equal(fit().name, NODE_RESOURCES_FIT);
  assert.equal(NODE_RESOURCES_FIT, 'NodeResourcesFit');
});

test('NodeResourcesFit filter: fits, insufficient cpu/memory, and unresolvable when larger than the node', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '10', memory: '20' })], {
    n1: [makePod({ requests: [{ cpu: '5', memory: '19' }] })],
  });
  assert.ok(filter(undefined, makePod({ requests: [{ cpu: '1', memory: '1' }] }), ni).isSuccess());
  const s = filter(undefined, makePod({ requests: [{ cpu: '6', memory: '2' }] }), ni);
  assert.equal(s.code, Code.Unschedulable);
  assert.deepEqual(s.reasons, ['Insufficient cpu', 'Insufficient memory']);
  const big = filter(undefined, makePod({ requests: [{ cpu: '11' }] }), ni);
  assert.equal(big.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(big.reasons, ['Insufficient cpu']);
});

test('NodeResourcesFit filter: init containers count at their max, not their sum', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '10', memory: '20' })], { n1: [makePod({ requests: [{ cpu: '8', memory: '19' }] })] });
  const ic = (cpu: string) => ({ name: `i${cpu}`, image: 'x', resources: { requests: { cpu, memory: '1' } } });
  // containers 1 cpu, init containers 2 and 1: max(1, 2, 1) = 2 -> 8 + 2 = 10 fits.
  assert.ok(filter(undefined, makePod({ requests: [{ cpu: '1', memory: '1' }], initContainers: [ic('2'), ic('1')] }), ni).isSuccess());
  // an init container of 3 cpu makes it 11 > 10.
  assert.deepEqual(filter(undefined, makePod({ requests: [{ cpu: '1', memory: '1' }], initContainers: [ic('3')] }), ni).reasons, ['Insufficient cpu']);
});

test('NodeResourcesFit filter: sidecars add to the pod and to later init containers', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '10', memory: '20' })], { n1: [makePod({ requests: [{ cpu: '7' }] })] });
  const sidecar = { name: 'sc', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '1' } } };
  const init = (cpu: string) => ({ name: 'i', image: 'x', resources: { requests: { cpu } } });
  // sidecar 1 + container 1 = 2: 7 + 2 fits.
  assert.ok(filter(undefined, makePod({ requests: [{ cpu: '1' }], initContainers: [sidecar] }), ni).isSuccess());
  // init container after the sidecar runs next to it: max(2, 1 + 3) = 4 -> 11 > 10.
  assert.deepEqual(filter(undefined, makePod({ requests: [{ cpu: '1' }], initContainers: [sidecar, init('3')] }), ni).reasons, ['Insufficient cpu']);
  // the same init container before the sidecar: max(2, 3) = 3 -> 10 fits.
  assert.ok(filter(undefined, makePod({ requests: [{ cpu: '1' }], initContainers: [init('3'), sidecar] }), ni).isSuccess());
});

test('NodeResourcesFit filter: extended resources, ignoredResources and ignoredResourceGroups', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '10', memory: '20', 'example.com/foo': '5' })], {
    n1: [makePod({ requests: [{ 'example.com/foo': '3' }] })],
  });
  assert.ok(filter(undefined, makePod({ requests: [{ 'example.com/foo': '2' }] }), ni).isSuccess());
  const s = filter(undefined, makePod({ requests: [{ 'example.com/foo': '3' }] }), ni);
  assert.equal(s.code, Code.Unschedulable);
  assert.deepEqual(s.reasons, ['Insufficient example.com/foo']);
  // a resource the node does not have at all cannot be made room for.
  const missing = filter(undefined, makePod({ requests: [{ 'example.com/bar': '1' }] }), ni);
  assert.equal(missing.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(missing.reasons, ['Insufficient example.com/bar']);
  assert.ok(filter({ ignoredResources: ['example.com/bar'] }, makePod({ requests: [{ 'example.com/bar': '1' }] }), ni).isSuccess());
  assert.ok(filter({ ignoredResourceGroups: ['example.com'] }, makePod({ requests: [{ 'example.com/bar': '1' }] }), ni).isSuccess());
  // ignored* only apply to extended resources, never to native ones such as hugepages.
  const hp = filter({ ignoredResources: ['hugepages-2Mi'] }, makePod({ requests: [{ 'hugepages-2Mi': '2Mi' }] }), ni);
  assert.deepEqual(hp.reasons, ['Insufficient hugepages-2Mi']);
});

test('NodeResourcesFit filter: pod count, also for pods that request nothing', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '10', memory: '20', pods: '2' })], { n1: [makePod(), makePod()] });
  const s = filter(undefined, makePod(), ni);
  assert.equal(s.code, Code.Unschedulable);
  assert.deepEqual(s.reasons, ['Too many pods']);
  const both = filter(undefined, makePod({ requests: [{ cpu: '20' }] }), ni);
  assert.deepEqual(both.reasons, ['Too many pods', 'Insufficient cpu']);
});

test('NodeResourcesFit filter works without PreFilter (preemption dry runs)', () => {
  const [ni] = nodeInfos([makeNode('n1', { cpu: '1', memory: '1Gi' })]);
  const p = fit();
  assert.deepEqual(p.filter!(new CycleState(), makePod({ requests: [{ cpu: '2' }] }), ni).reasons, ['Insufficient cpu']);
});

// Score expectations below are upstream's unit-test values (least/most/requested_to_capacity_ratio tests).
const cap = (cpu: string, memory: string, more: Record<string, string> = {}) => ({ cpu, memory, ...more });

test('LeastAllocated: upstream expectations', () => {
  const p = fit();
  const req = makePod({ requests: [{ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }] });
  // nothing scheduled, nothing requested (a pod without containers)
  assert.deepEqual(scoreAll(p, makePod(), nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('4000', '10000'))])).map((s) => s.score), [100, 100]);
  // differently sized nodes: (25+50)/2 = 37, (50+50)/2 = 50
  assert.deepEqual(scoreAll(p, req, nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))])).map((s) => s.score), [37, 50]);
  // no resources requested, pods scheduled with resources: 70, 57
  const nodes = [makeNode('n1', cap('10000', '20000')), makeNode('n2', cap('10000', '20000'))];
  const existing = {
    n1: [makePod({ requests: [{ cpu: '3000', memory: '0' }] }), makePod({ requests: [{ cpu: '3000', memory: '0' }] })],
    n2: [makePod({ requests: [{ cpu: '3000', memory: '0' }] }), makePod({ requests: [{ cpu: '3000', memory: '5000' }] })],
  };
  assert.deepEqual(scoreAll(p, makePod(), nodeInfos(nodes, existing)).map((s) => s.score), [70, 57]);
  // requested resources exceed node capacity: 50, 25
  const over = {
    n1: [makePod({ requests: [{ cpu: '3000', memory: '0' }] })],
    n2: [makePod({ requests: [{ cpu: '3000', memory: '5000' }] })],
  };
  assert.deepEqual(
    scoreAll(p, makePod({ requests: [{ cpu: '3000', memory: '0' }] }), nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('4000', '10000'))], over)).map((s) => s.score),
    [50, 25],
  );
  // weights memory 2, cpu 1: (25*1 + 50*2)/3 = 41, 50
  const weighted = fit({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'memory', weight: 2 }, { name: 'cpu', weight: 1 }] } });
  assert.deepEqual(scoreAll(weighted, req, nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))])).map((s) => s.score), [41, 50]);
});

test('LeastAllocated: extended resources are scored only when the pod requests them', () => {
  const res = { scoringStrategy: { type: 'LeastAllocated' as const, resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }, { name: 'example.com/foo', weight: 1 }] } };
  const p = fit(res);
  const nodes = [makeNode('n1', cap('6000', '10000')), makeNode('n2', cap('6000', '10000', { 'example.com/foo': '4' }))];
  const noExt = makePod({ requests: [{ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }] });
  assert.deepEqual(scoreAll(p, noExt, nodeInfos(nodes)).map((s) => s.score), [50, 50]);
  const withExt = makePod({ requests: [{ cpu: '1000', memory: '2000', 'example.com/foo': '2' }, { cpu: '2000', memory: '3000' }] });
  const nodes2 = [makeNode('n1', cap('6000', '10000', { 'example.com/foo': '4' })), makeNode('n2', cap('6000', '10000', { 'example.com/foo': '10' }))];
  assert.deepEqual(scoreAll(p, withExt, nodeInfos(nodes2)).map((s) => s.score), [50, 60]);
});

test('LeastAllocated: a node with 4000m/10000 allocatable and non-zero defaults for request-less containers', () => {
  const p = fit();
  // A container without requests counts 100m cpu and 200Mi memory for scoring.
  const [ni] = nodeInfos([makeNode('n1', { cpu: '4000m', memory: `${10000 * 1024 * 1024}` })]);
  const pod = makePod({ requests: [undefined] });
  // cpu (4000-100)*100/4000 = 97, memory (10000-200)*100/10000 = 98 -> 97
  assert.deepEqual(scoreAll(p, pod, [ni]).map((s) => s.score), [97]);
});

test('MostAllocated: upstream expectations', () => {
  const p = fit({ scoringStrategy: { type: 'MostAllocated' } });
  const req = makePod({ requests: [{ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }] });
  assert.deepEqual(scoreAll(p, makePod(), nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('4000', '10000'))])).map((s) => s.score), [0, 0]);
  // (75+50)/2 = 62, (50+50)/2 = 50
  assert.deepEqual(scoreAll(p, req, nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))])).map((s) => s.score), [62, 50]);
  // over capacity is capped at 100: cpu 6000/4000 -> 100, memory 0 -> (100+0)/2 = 50
  const over = { n1: [makePod({ requests: [{ cpu: '3000', memory: '0' }] })] };
  assert.deepEqual(scoreAll(p, makePod({ requests: [{ cpu: '3000', memory: '0' }] }), nodeInfos([makeNode('n1', cap('4000', '10000'))], over)).map((s) => s.score), [50]);
  // weights memory 2, cpu 1: (75*1 + 50*2)/3 = 58, 50
  const weighted = fit({ scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'memory', weight: 2 }, { name: 'cpu', weight: 1 }] } });
  assert.deepEqual(scoreAll(weighted, req, nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))])).map((s) => s.score), [58, 50]);
});

test('RequestedToCapacityRatio: broken linear function matches upstream', () => {
  const f1 = brokenLinearFunction([{ utilization: 10, score: 1 }, { utilization: 90, score: 9 }]);
  assert.deepEqual([-10, 0, 9, 10, 15, 19, 20, 89, 90, 99, 100, 110].map(f1), [1, 1, 1, 1, 1, 1, 2, 8, 9, 9, 9, 9]);
  const f2 = brokenLinearFunction([{ utilization: 0, score: 2 }, { utilization: 40, score: 10 }, { utilization: 100, score: 0 }]);
  assert.deepEqual([-10, 0, 20, 30, 40, 70, 100, 110].map(f2), [2, 2, 6, 8, 10, 5, 0, 0]);
});

test('RequestedToCapacityRatio: upstream expectations', () => {
  const shape = [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }];
  const p = fit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape } } });
  const nodes = [makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))];
  assert.deepEqual(scoreAll(p, makePod(), nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('4000', '10000'))], { n1: [makePod(), makePod()] })).map((s) => s.score), [100, 100]);
  const req = makePod({ requests: [{ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }] });
  assert.deepEqual(scoreAll(p, req, nodeInfos(nodes)).map((s) => s.score), [38, 50]);
  const existing = { n1: [makePod({ requests: [{ cpu: '3000', memory: '5000' }] })], n2: [makePod({ requests: [{ cpu: '3000', memory: '5000' }] })] };
  assert.deepEqual(scoreAll(p, makePod(), nodeInfos(nodes, existing)).map((s) => s.score), [38, 50]);

  // Bin packing on one extended resource, shape 0->0, 100->1 (upstream TestResourceBinPackingSingleExtended).
  const bin = fit({
    scoringStrategy: {
      type: 'RequestedToCapacityRatio',
      resources: [{ name: 'intel.com/foo', weight: 1 }],
      requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 1 }] },
    },
  });
  const extNodes = [makeNode('n1', cap('4000', `${10000 * 1024 * 1024}`, { 'intel.com/foo': '8' })), makeNode('n2', cap('4000', `${10000 * 1024 * 1024}`, { 'intel.com/foo': '4' }))];
  const two = makePod({ requests: [{ 'intel.com/foo': '2' }] });
  assert.deepEqual(scoreAll(bin, makePod(), nodeInfos(extNodes)).map((s) => s.score), [0, 0]);
  assert.deepEqual(scoreAll(bin, two, nodeInfos(extNodes)).map((s) => s.score), [2, 5]);
  assert.deepEqual(scoreAll(bin, two, nodeInfos(extNodes, { n2: [makePod({ requests: [{ 'intel.com/foo': '2' }] })] })).map((s) => s.score), [2, 10]);
  assert.deepEqual(scoreAll(bin, makePod({ requests: [{ 'intel.com/foo': '4' }] }), nodeInfos(extNodes)).map((s) => s.score), [5, 10]);
});

test('NodeResourcesFit: invalid args are rejected', () => {
  assert.throws(() => fit({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 0 }] } }), /resources\[0\]\.weight/);
  assert.throws(() => fit({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 101 }] } }), /weight/);
  assert.throws(() => fit({ scoringStrategy: { type: 'Nope' as any } }), /Unsupported value/);
  assert.throws(() => fit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 50, score: 1 }, { utilization: 40, score: 2 }] } } }), /increasing/);
});

test('BalancedAllocation: upstream expectations and best-effort skip', () => {
  const p = newNodeResourcesBalancedAllocation(undefined, makeHandle([]));
  assert.equal(p.name, NODE_RESOURCES_BALANCED_ALLOCATION);
  const req = makePod({ requests: [{ cpu: '1000', memory: '2000' }, { cpu: '2000', memory: '3000' }] });
  // cpu 3000/4000 = 0.75, memory 0.5: std 0.125 -> 87; 0.5 and 0.5 -> 100
  assert.deepEqual(scoreAll(p, req, nodeInfos([makeNode('n1', cap('4000', '10000')), makeNode('n2', cap('6000', '10000'))])).map((s) => s.score), [87, 100]);
  // existing pods count by their real requests (not the non-zero defaults): cpu 6000/10000=0.6, mem 5000/20000=0.25 -> std 0.175 -> 82
  const ex = { n1: [makePod({ requests: [{ cpu: '3000', memory: '0' }] }), makePod({ requests: [{ cpu: '0', memory: '0' }] })] };
  const pod = makePod({ requests: [{ cpu: '3000', memory: '5000' }] });
  assert.deepEqual(scoreAll(p, pod, nodeInfos([makeNode('n1', cap('10000', '20000'))], ex)).map((s) => s.score), [82]);
  // three resources: population standard deviation
  const three = newNodeResourcesBalancedAllocation({ resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }, { name: 'example.com/gpu', weight: 1 }] }, makeHandle([]));
  const gpuPod = makePod({ requests: [{ cpu: '1', memory: '1', 'example.com/gpu': '1' }] });
  // fractions 0.5, 0.25, 0.25: mean 1/3, std = sqrt(((1/6)^2 + 2*(1/12)^2)/3) = 0.1178 -> 88
  assert.deepEqual(scoreAll(three, gpuPod, nodeInfos([makeNode('n1', { cpu: '2', memory: '4', 'example.com/gpu': '4' })])).map((s) => s.score), [88]);
  // best-effort pods are not scored (PreScore says Skip)
  const st = new CycleState();
  assert.equal(p.preScore!(st, makePod({ requests: [undefined] }), []).code, Code.Skip);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, Code } from '../../src/scheduler/framework/types.js';
import { TAINT_TOLERATION, newTaintToleration } from '../../src/scheduler/plugins/taint-toleration.js';
import { NODE_UNSCHEDULABLE, newNodeUnschedulable } from '../../src/scheduler/plugins/node-unschedulable.js';
import { NODE_NAME, newNodeName } from '../../src/scheduler/plugins/node-name.js';
import {
  DO_NOT_SCHEDULE_EFFECTS,
  findUntoleratedTaint,
  getMatchingTolerations,
  minTolerationSeconds,
  tolerates,
  tolerationsTolerateTaint,
} from '../../src/scheduler/plugins/helpers/taints.js';
import { makeHandle, makeNode, makePod, nodeInfos, scoreAll } from './plugins-node-fixtures.js';

test('tolerates: operator, key, value and effect rules', () => {
  const taint = { key: 'foo', value: 'bar', effect: 'NoSchedule' };
  assert.ok(tolerates({ key: 'foo', operator: 'Equal', value: 'bar', effect: 'NoSchedule' }, taint));
  assert.ok(tolerates({ key: 'foo', value: 'bar', effect: 'NoSchedule' }, taint), 'empty operator means Equal');
  assert.ok(!tolerates({ key: 'foo', operator: 'Equal', value: 'baz', effect: 'NoSchedule' }, taint));
  assert.ok(tolerates({ key: 'foo', operator: 'Exists', effect: 'NoSchedule' }, taint), 'Exists ignores the value');
  assert.ok(tolerates({ key: 'foo', operator: 'Exists' }, taint), 'empty effect matches all effects');
  assert.ok(!tolerates({ key: 'foo', operator: 'Exists', effect: 'NoExecute' }, taint));
  assert.ok(tolerates({ operator: 'Exists' }, taint), 'empty key with Exists tolerates everything');
  assert.ok(tolerates({ operator: 'Exists' }, { key: 'x', effect: 'NoExecute' }));
  assert.ok(!tolerates({ key: 'other', operator: 'Exists' }, taint));
  assert.ok(!tolerates({ key: 'foo', operator: 'Gt', value: 'bar' }, taint), 'unknown operators tolerate nothing');
  assert.ok(tolerates({ key: 'k', operator: 'Equal', effect: 'NoSchedule' }, { key: 'k', effect: 'NoSchedule' }), 'empty value equals empty value');
});

test('findUntoleratedTaint / getMatchingTolerations / minTolerationSeconds', () => {
  const taints = [
    { key: 'a', value: '1', effect: 'PreferNoSchedule' },
    { key: 'b', value: '2', effect: 'NoExecute' },
    { key: 'c', value: '3', effect: 'NoSchedule' },
  ];
  assert.deepEqual(findUntoleratedTaint(taints, [], DO_NOT_SCHEDULE_EFFECTS), taints[1]);
  assert.deepEqual(findUntoleratedTaint(taints, [{ key: 'b', operator: 'Exists' }], DO_NOT_SCHEDULE_EFFECTS), taints[2]);
  assert.equal(findUntoleratedTaint(taints, [{ key: 'b', operator: 'Exists' }, { key: 'c', value: '3' }], DO_NOT_SCHEDULE_EFFECTS), undefined);
  assert.deepEqual(findUntoleratedTaint(taints, [{ key: 'b', operator: 'Exists' }, { key: 'c', value: '3' }]), taints[0], 'no effect filter: all effects');
  assert.ok(tolerationsTolerateTaint([{ operator: 'Exists' }], taints[0]));
  const noExec = [taints[1]];
  const m = getMatchingTolerations(noExec, [{ key: 'b', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]);
  assert.ok(m.tolerated);
  assert.equal(minTolerationSeconds(m.matching), 30);
  assert.equal(getMatchingTolerations(noExec, [{ key: 'x', operator: 'Exists' }]).tolerated, false);
  assert.equal(minTolerationSeconds([{ key: 'b', operator: 'Exists' }]), -1, 'no tolerationSeconds: forever');
  assert.equal(minTolerationSeconds([{ tolerationSeconds: 60 }, { tolerationSeconds: -5 }]), 0, 'non-positive: evict now');
});

test('TaintToleration filter: NoSchedule and NoExecute block, PreferNoSchedule does not; upstream reason format', () => {
  const p = newTaintToleration(undefined, makeHandle([]));
  assert.equal(p.name, TAINT_TOLERATION);
  const [noSched, noExec, prefer, empty] = nodeInfos([
    makeNode('n1', {}, { taints: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }] }),
    makeNode('n2', {}, { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
    makeNode('n3', {}, { taints: [{ key: 'foo', value: 'bar', effect: 'PreferNoSchedule' }] }),
    makeNode('n4', {}, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
  ]);
  const pod = makePod();
  const s = p.filter!(new CycleState(), pod, noSched);
  assert.equal(s.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(s.reasons, ['node(s) had untolerated taint {dedicated: user1}']);
  assert.deepEqual(p.filter!(new CycleState(), pod, noExec).reasons, ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
  assert.deepEqual(p.filter!(new CycleState(), pod, empty).reasons, ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }']);
  assert.ok(p.filter!(new CycleState(), pod, prefer).isSuccess());
  const tolerant = makePod({ spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user1', effect: 'NoSchedule' }] } });
  assert.ok(p.filter!(new CycleState(), tolerant, noSched).isSuccess());
  const wrongEffect = makePod({ spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user1', effect: 'NoExecute' }] } });
  assert.ok(!p.filter!(new CycleState(), wrongEffect, noSched).isSuccess());
});

test('TaintToleration score: fewer intolerable PreferNoSchedule taints is better (reverse-normalized)', () => {
  const p = newTaintToleration(undefined, makeHandle([]));
  const nis = nodeInfos([
    makeNode('n1', {}, { taints: [{ key: 'cpu-type', value: 'arm64', effect: 'PreferNoSchedule' }] }),
    makeNode('n2', {}, { taints: [{ key: 'cpu-type', value: 'arm64', effect: 'PreferNoSchedule' }, { key: 'disk-type', value: 'ssd', effect: 'PreferNoSchedule' }] }),
    makeNode('n3', {}),
    // NoSchedule taints do not count for scoring.
    makeNode('n4', {}, { taints: [{ key: 'x', value: 'y', effect: 'NoSchedule' }] }),
  ]);
  assert.deepEqual(scoreAll(p, makePod(), nis).map((s) => s.score), [50, 0, 100, 100]);
  // A toleration with effect NoSchedule does not help with PreferNoSchedule taints.
  const tolNoSched = makePod({ spec: { tolerations: [{ key: 'cpu-type', operator: 'Exists', effect: 'NoSchedule' }] } });
  assert.deepEqual(scoreAll(p, tolNoSched, nis).map((s) => s.score), [50, 0, 100, 100]);
  // A toleration without effect does.
  const tol = makePod({ spec: { tolerations: [{ key: 'cpu-type', operator: 'Equal', value: 'arm64' }] } });
  assert.deepEqual(scoreAll(p, tol, nis).map((s) => s.score), [100, 0, 100, 100]);
  // Nothing intolerable anywhere: every node gets the maximum.
  const all = makePod({ spec: { tolerations: [{ operator: 'Exists' }] } });
  assert.deepEqual(scoreAll(p, all, nis).map((s) => s.score), [100, 100, 100, 100]);
});

test('NodeUnschedulable: cordoned nodes unless the pod tolerates the unschedulable taint', () => {
  const p = newNodeUnschedulable(undefined, makeHandle([]));
  assert.equal(p.name, NODE_UNSCHEDULABLE);
  const [cordoned, normal] = nodeInfos([makeNode('n1', {}, { unschedulable: true }), makeNode('n2')]);
  const s = p.filter!(new CycleState(), makePod(), cordoned);
  assert.equal(s.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(s.reasons, ['node(s) were unschedulable']);
  assert.ok(p.filter!(new CycleState(), makePod(), normal).isSuccess());
  const tol = makePod({ spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } });
  assert.ok(p.filter!(new CycleState(), tol, cordoned).isSuccess());
  const wrong = makePod({ spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }] } });
  assert.ok(!p.filter!(new CycleState(), wrong, cordoned).isSuccess());
});

test('NodeName: filter and PreFilter narrowing', () => {
  const p = newNodeName(undefined, makeHandle([]));
  assert.equal(p.name, NODE_NAME);
  const [a, b] = nodeInfos([makeNode('a'), makeNode('b')]);
  const pod = makePod({ spec: { nodeName: 'a' } });
  const pre = p.preFilter!(new CycleState(), pod, [a, b]);
  assert.deepEqual([...pre.result!.nodeNames!], ['a']);
  assert.ok(p.filter!(new CycleState(), pod, a).isSuccess());
  const s = p.filter!(new CycleState(), pod, b);
  assert.equal(s.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(s.reasons, ["node(s) didn't match the requested node name"]);
  assert.equal(p.preFilter!(new CycleState(), makePod(), [a, b]).status.code, Code.Skip);
  assert.ok(p.filter!(new CycleState(), makePod(), b).isSuccess());
});

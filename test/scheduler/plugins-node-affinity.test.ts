import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, Code, type Pod } from '../../src/scheduler/framework/types.js';
import { NODE_AFFINITY, newNodeAffinity, type NodeAffinityArgs } from '../../src/scheduler/plugins/node-affinity.js';
import { nodeSelectorMatches, podMatchesNodeSelectorAndAffinityTerms } from '../../src/scheduler/plugins/helpers/node-selector.js';
import { makeHandle, makeNode, makePod, nodeInfos, scoreAll } from './plugins-node-fixtures.js';

const REASON = "node(s) didn't match Pod's node affinity/selector";

function required(...terms: any[]) {
  return { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } };
}

function run(pod: Pod, labels: Record<string, string>, name = 'node1', args?: NodeAffinityArgs) {
  const p = newNodeAffinity(args as any, makeHandle([]));
  const [ni] = nodeInfos([makeNode(name, {}, { labels })]);
  const state = new CycleState();
  const pre = p.preFilter!(state, pod, [ni]);
  if (pre.status.code === Code.Skip) return { pre, status: undefined };
  if (!pre.status.isSuccess()) return { pre, status: pre.status };
  return { pre, status: p.filter!(state, pod, ni) };
}

test('NodeAffinity: name and skip when the pod has no constraints', () => {
  assert.equal(newNodeAffinity(undefined, makeHandle([])).name, NODE_AFFINITY);
  assert.equal(run(makePod(), { a: 'b' }).pre.status.code, Code.Skip);
});

test('NodeAffinity: nodeSelector', () => {
  const pod = makePod({ spec: { nodeSelector: { foo: 'bar' } } });
  assert.ok(run(pod, { foo: 'bar', x: 'y' }).status!.isSuccess());
  const s = run(pod, { foo: 'baz' }).status!;
  assert.equal(s.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(s.reasons, [REASON]);
  // nodeSelector and affinity must both match.
  const both = makePod({ spec: { nodeSelector: { foo: 'bar' }, ...required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }) } });
  assert.ok(run(both, { foo: 'bar', zone: 'a' }).status!.isSuccess());
  assert.ok(!run(both, { foo: 'bar', zone: 'b' }).status!.isSuccess());
  assert.ok(!run(both, { zone: 'a' }).status!.isSuccess());
});

test('NodeAffinity: operators In, NotIn, Exists, DoesNotExist', () => {
  const t = (op: string, values?: string[]) => makePod({ spec: required({ matchExpressions: [{ key: 'k', operator: op, values }] }) });
  assert.ok(run(t('In', ['a', 'b']), { k: 'b' }).status!.isSuccess());
  assert.ok(!run(t('In', ['a', 'b']), { k: 'c' }).status!.isSuccess());
  assert.ok(!run(t('In', ['a']), {}).status!.isSuccess());
  assert.ok(run(t('NotIn', ['a']), { k: 'b' }).status!.isSuccess());
  assert.ok(run(t('NotIn', ['a']), {}).status!.isSuccess(), 'NotIn matches a missing label');
  assert.ok(!run(t('NotIn', ['a']), { k: 'a' }).status!.isSuccess());
  assert.ok(run(t('Exists'), { k: '' }).status!.isSuccess());
  assert.ok(!run(t('Exists'), {}).status!.isSuccess());
  assert.ok(run(t('DoesNotExist'), {}).status!.isSuccess());
  assert.ok(!run(t('DoesNotExist'), { k: 'x' }).status!.isSuccess());
});

test('NodeAffinity: Gt and Lt compare integers; bad values never match', () => {
  const t = (op: string, v: string[]) => makePod({ spec: required({ matchExpressions: [{ key: 'cores', operator: op, values: v }] }) });
  assert.ok(run(t('Gt', ['4']), { cores: '8' }).status!.isSuccess());
  assert.ok(!run(t('Gt', ['4']), { cores: '4' }).status!.isSuccess());
  assert.ok(run(t('Lt', ['4']), { cores: '-1' }).status!.isSuccess());
  assert.ok(!run(t('Lt', ['4']), { cores: '10' }).status!.isSuccess(), 'numeric, not lexical, comparison');
  assert.ok(!run(t('Gt', ['4']), { cores: 'many' }).status!.isSuccess(), 'non-integer label value');
  assert.ok(!run(t('Gt', ['4']), {}).status!.isSuccess(), 'missing label');
  assert.ok(!run(t('Gt', ['x']), { cores: '8' }).status!.isSuccess(), 'invalid requirement value');
  assert.ok(!run(t('Gt', ['1', '2']), { cores: '8' }).status!.isSuccess(), 'more than one value');
});

test('NodeAffinity: terms are ORed, expressions ANDed, empty or invalid terms match nothing', () => {
  const pod = makePod({
    spec: required(
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }, { key: 'b', operator: 'In', values: ['2'] }] },
      { matchExpressions: [{ key: 'c', operator: 'Exists' }] },
    ),
  });
  assert.ok(run(pod, { a: '1', b: '2' }).status!.isSuccess());
  assert.ok(!run(pod, { a: '1' }).status!.isSuccess());
  assert.ok(run(pod, { c: 'x' }).status!.isSuccess());
  assert.ok(!run(makePod({ spec: required({}) }), { a: '1' }).status!.isSuccess(), 'empty term');
  const invalidThenValid = makePod({
    spec: required({ matchExpressions: [{ key: 'a', operator: 'Bogus', values: ['1'] }] }, { matchExpressions: [{ key: 'a', operator: 'Exists' }] }),
  });
  assert.ok(run(invalidThenValid, { a: '1' }).status!.isSuccess(), 'an invalid term is skipped, others still count');
});

test('NodeAffinity: matchFields metadata.name and PreFilter narrowing', () => {
  const byName = (op: string, v: string[]) => ({ matchFields: [{ key: 'metadata.name', operator: op, values: v }] });
  const pod = makePod({ spec: required(byName('In', ['node1'])) });
  const r = run(pod, {}, 'node1');
  assert.deepEqual([...r.pre.result!.nodeNames!], ['node1']);
  assert.ok(r.status!.isSuccess());
  assert.ok(!run(pod, {}, 'node2').status!.isSuccess());
  assert.ok(run(makePod({ spec: required(byName('NotIn', ['node1'])) }), {}, 'node2').status!.isSuccess());
  assert.ok(!run(makePod({ spec: required(byName('NotIn', ['node1'])) }), {}, 'node1').status!.isSuccess());
  assert.ok(!run(makePod({ spec: required({ matchFields: [{ key: 'metadata.uid', operator: 'In', values: ['x'] }] }) }), {}).status!.isSuccess());
  // Union across terms.
  const two = run(makePod({ spec: required(byName('In', ['node1']), byName('In', ['node2'])) }), {});
  assert.deepEqual([...two.pre.result!.nodeNames!].sort(), ['node1', 'node2']);
  // A term without a name constraint leaves all nodes eligible.
  const open = run(makePod({ spec: required(byName('In', ['node1']), { matchExpressions: [{ key: 'a', operator: 'Exists' }] }) }), { a: '' });
  assert.equal(open.pre.result, undefined);
  // Conflicting names within one term: nothing can match.
  const conflict = run(
    makePod({ spec: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }, { key: 'metadata.name', operator: 'In', values: ['node2'] }] }) }),
    {},
  );
  assert.equal(conflict.pre.status.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(conflict.pre.status.reasons, ['pod affinity terms conflict']);
});

test('NodeAffinity: addedAffinity is enforced with its own reason', () => {
  const args = { addedAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['batch'] }] }] } } };
  const s = run(makePod(), { pool: 'web' }, 'node1', args).status!;
  assert.equal(s.code, Code.UnschedulableAndUnresolvable);
  assert.deepEqual(s.reasons, ["node(s) didn't match scheduler-enforced node affinity"]);
  assert.ok(run(makePod(), { pool: 'batch' }, 'node1', args).status!.isSuccess());
});

test('NodeAffinity score: sum of matching preferred weights, normalized to 0..100', () => {
  const p = newNodeAffinity(undefined, makeHandle([]));
  const pod = makePod({
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 2, preference: { matchExpressions: [{ key: 'foo', operator: 'In', values: ['bar'] }] } },
            { weight: 4, preference: { matchExpressions: [{ key: 'key', operator: 'In', values: ['value'] }] } },
            { weight: 5, preference: { matchExpressions: [{ key: 'az', operator: 'In', values: ['az1'] }, { key: 'foo', operator: 'In', values: ['bar'] }] } },
            { weight: 9, preference: {} },
          ],
        },
      },
    },
  });
  const nis = nodeInfos([
    makeNode('n1', {}, { labels: { foo: 'bar' } }),
    makeNode('n2', {}, { labels: { key: 'value' } }),
    makeNode('n3', {}, { labels: { foo: 'bar', key: 'value', az: 'az1' } }),
    makeNode('n4', {}),
  ]);
  // raw 2, 4, 11, 0 -> 100*x/11
  assert.deepEqual(scoreAll(p, pod, nis).map((s) => s.score), [18, 36, 100, 0]);
  assert.equal(p.preScore!(new CycleState(), makePod(), nis).code, Code.Skip);
  // addedAffinity preferred terms count too.
  const added = newNodeAffinity(
    { addedAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 3, preference: { matchExpressions: [{ key: 'foo', operator: 'Exists' }] } }] } },
    makeHandle([]),
  );
  assert.deepEqual(scoreAll(added, makePod(), nis).map((s) => s.score), [100, 0, 100, 0]);
});

test('node selector helpers for other controllers', () => {
  const node = makeNode('n1', {}, { labels: { a: '1' } });
  assert.ok(nodeSelectorMatches({ nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }] }, node));
  assert.ok(!nodeSelectorMatches({ nodeSelectorTerms: [] }, node));
  assert.ok(podMatchesNodeSelectorAndAffinityTerms(makePod({ spec: { nodeSelector: { a: '1' } } }), node));
  assert.ok(!podMatchesNodeSelectorAndAffinityTerms(makePod({ spec: { nodeSelector: { a: '2' } } }), node));
});

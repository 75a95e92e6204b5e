import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Framework, numFeasibleNodesToFind, type ProfileConfig, type Registry, type PluginRef, NoNodesError } from '../../src/scheduler/framework/runtime.js';
import { Code, CycleState, Status, type Plugin, type PluginFactory } from '../../src/scheduler/framework/types.js';
import { newNodeInfo, snapshotOf } from '../../src/scheduler/framework/node-info.js';
import { FitError } from '../../src/scheduler/messages.js';

const node = (name: string) => newNodeInfo({ metadata: { name }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } });
const pod = (name = 'p', extra: any = {}) => ({ metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { containers: [{ name: 'c' }], ...extra } });
const listers = { namespaceLabels: () => undefined, priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [] };

function profile(multi: PluginRef[], extra: Partial<ProfileConfig> = {}): ProfileConfig {
  return { schedulerName: 'test', plugins: { multiPoint: { enabled: multi, disabled: [] } }, pluginConfig: new Map(), ...extra };
}

function build(plugins: Record<string, Omit<Plugin, 'name'>>, multi: PluginRef[], nodes = [node('a'), node('b'), node('c')], extra: Partial<ProfileConfig> = {}) {
  const reg: Registry = new Map();
  for (const [name, impl] of Object.entries(plugins)) reg.set(name, (() => ({ name, ...impl })) as PluginFactory);
  reg.set('Binder', () => ({ name: 'Binder', bind: async () => Status.success() }));
  const snapshot = snapshotOf(nodes);
  const fwk = new Framework(profile([...multi, { name: 'Binder' }], extra), reg, { snapshot, listers });
  return { fwk, snapshot };
}

test('extension points run in order and the best-scoring node wins', async () => {
  const calls: string[] = [];
  const { fwk, snapshot } = build(
    {
      A: {
        preFilter: () => (calls.push('A.preFilter'), { status: Status.success() }),
        filter: (_s, _p, n) => (calls.push(`A.filter:${n.name}`), Status.success()),
        preScore: () => (calls.push('A.preScore'), Status.success()),
        score: (_s, _p, n) => ({ score: n.name === 'b' ? 90 : 10, status: Status.success() }),
        reserve: () => (calls.push('A.reserve'), Status.success()),
        permit: () => (calls.push('A.permit'), { status: Status.success() }),
      },
    },
    [{ name: 'A' }],
  );
  const st = new CycleState();
  const res = await fwk.schedulePod(st, pod(), snapshot);
  assert.equal(res.nodeName, 'b');
  assert.equal(res.feasibleNodes, 3);
  assert.deepEqual(calls, ['A.preFilter', 'A.filter:a', 'A.filter:b', 'A.filter:c', 'A.preScore']);
  assert.ok(fwk.runReservePluginsReserve(st, pod(), 'b').isSuccess());
  assert.ok(fwk.runPermitPlugins(st, pod(), 'b').isSuccess());
  assert.deepEqual(calls.slice(-2), ['A.reserve', 'A.permit']);
});

test('PreFilter Skip skips that plugin Filter; PreScore Skip skips its Score', async () => {
  let filtered = 0;
  let scored = 0;
  const { fwk, snapshot } = build(
    {
      S: {
        preFilter: () => ({ status: Status.skip() }),
        filter: () => (filtered++, Status.unschedulable('never')),
        preScore: () => Status.skip(),
        score: () => (scored++, { score: 0, status: Status.success() }),
      },
    },
    [{ name: 'S' }],
  );
  const res = await fwk.schedulePod(new CycleState(), pod(), snapshot);
  assert.ok(res.nodeName);
  assert.equal(filtered, 0);
  assert.equal(scored, 0);
});

test('PreFilter results are intersected; nodes outside get the absent status', async () => {
  const { fwk, snapshot } = build(
    {
      P1: { preFilter: () => ({ result: { nodeNames: new Set(['a', 'b']) }, status: Status.success() }), filter: () => Status.success() },
      P2: { preFilter: () => ({ result: { nodeNames: new Set(['b', 'c']) }, status: Status.success() }) },
    },
    [{ name: 'P1' }, { name: 'P2' }],
  );
  const res = await fwk.schedulePod(new CycleState(), pod(), snapshot);
  assert.equal(res.nodeName, 'b');

  const { fwk: f2, snapshot: s2 } = build(
    {
      P1: { preFilter: () => ({ result: { nodeNames: new Set(['a']) }, status: Status.success() }) },
      P2: { preFilter: () => ({ result: { nodeNames: new Set(['c']) }, status: Status.success() }) },
    },
    [{ name: 'P1' }, { name: 'P2' }],
  );
  await assert.rejects(f2.schedulePod(new CycleState(), pod(), s2), (e: any) => {
    assert.ok(e instanceof FitError);
    assert.equal(e.message, "0/3 nodes are available: node(s) didn't satisfy plugin(s) [P1 P2] simultaneously.");
    return true;
  });

  const { fwk: f3, snapshot: s3 } = build(
    {
      P1: { preFilter: () => ({ result: { nodeNames: new Set(['a']) }, status: Status.success() }), filter: () => Status.unschedulable('nope') },
    },
    [{ name: 'P1' }],
  );
  await assert.rejects(f3.schedulePod(new CycleState(), pod(), s3), (e: any) => {
    assert.equal(e.message, "0/3 nodes are available: 1 nope, 2 node(s) didn't satisfy plugin(s) [P1].");
    return true;
  });
});

test('score weights multiply normalized scores', async () => {
  const { fwk, snapshot } = build(
    {
      Light: { score: (_s, _p, n) => ({ score: n.name === 'a' ? 100 : 0, status: Status.success() }) },
      Heavy: {
        score: (_s, _p, n) => ({ score: n.name === 'c' ? 10 : 0, status: Status.success() }),
        // normalize to 0..100: max becomes 100
        normalizeScore: (_s, _p, scores) => {
          const max = Math.max(...scores.map((s) => s.score));
          for (const s of scores) s.score = max ? (s.score * 100) / max : 0;
          return Status.success();
        },
      },
    },
    [{ name: 'Light', weight: 1 }, { name: 'Heavy', weight: 3 }],
  );
  assert.equal(fwk.scoreWeights.join(','), '1,3');
  const res = await fwk.schedulePod(new CycleState(), pod(), snapshot);
  assert.equal(res.nodeName, 'c');
});

test('out-of-range scores are an error', async () => {
  const { fwk, snapshot } = build({ Bad: { score: () => ({ score: 101, status: Status.success() }) } }, [{ name: 'Bad' }]);
  await assert.rejects(fwk.schedulePod(new CycleState(), pod(), snapshot), /invalid score 101/);
});

test('ties are broken randomly (reservoir sampling)', async () => {
  const { fwk, snapshot } = build({ Flat: { score: () => ({ score: 50, status: Status.success() }) } }, [{ name: 'Flat' }]);
  const seen = new Set<string>();
  for (let i = 0; i < 60; i++) seen.add((await fwk.schedulePod(new CycleState(), pod(), snapshot)).nodeName);
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  // Deterministic random: always keep the first → node at the rotating start wins.
  fwk.random = () => 0.999;
  assert.equal(fwk.selectHost([5, 5, 5]), 0);
  fwk.random = () => 0;
  assert.equal(fwk.selectHost([5, 5, 5]), 2);
  assert.equal(fwk.selectHost([1, 9, 5]), 1);
});

test('percentageOfNodesToScore: adaptive count, explicit percentage and rotating start', async () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(99, 10), 99);
  assert.equal(numFeasibleNodesToFind(1000), 420); // 50 - 8 = 42%
  assert.equal(numFeasibleNodesToFind(5000), 500); // 50 - 40 = 10%
  assert.equal(numFeasibleNodesToFind(10000), 500); // min 5%
  assert.equal(numFeasibleNodesToFind(150), 100); // at least 100
  assert.equal(numFeasibleNodesToFind(1000, 30), 300);
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);

  const nodes = Array.from({ length: 1000 }, (_, i) => node(`n${i}`));
  let filtered = 0;
  const { fwk, snapshot } = build({ F: { filter: () => (filtered++, Status.success()) } }, [{ name: 'F' }], nodes, { percentageOfNodesToScore: 20 });
  const r1 = await fwk.schedulePod(new CycleState(), pod(), snapshot);
  assert.equal(r1.feasibleNodes, 200);
  assert.equal(filtered, 200);
  assert.equal(fwk.nextStartNodeIndex, 200);
  await fwk.schedulePod(new CycleState(), pod(), snapshot);
  assert.equal(fwk.nextStartNodeIndex, 400);
});

test('filter failures build the FitError; PostFilter message appended', async () => {
  const { fwk, snapshot } = build(
    {
      Cpu: { filter: (_s, _p, n) => (n.name === 'c' ? Status.unresolvable('node(s) had untolerated taint {x: }') : Status.unschedulable('Insufficient cpu')) },
      Preempt: { postFilter: async () => ({ status: Status.unschedulable('preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.') }) },
    },
    [{ name: 'Cpu' }, { name: 'Preempt' }],
  );
  await assert.rejects(fwk.schedulePod(new CycleState(), pod(), snapshot), (e: any) => {
    assert.ok(e instanceof FitError);
    assert.equal(
      e.message,
      '0/3 nodes are available: 1 node(s) had untolerated taint {x: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..',
    );
    assert.deepEqual([...e.diagnosis.unschedulablePlugins], ['Cpu']);
    return true;
  });
  await assert.rejects(build({}, [], []).fwk.schedulePod(new CycleState(), pod(), snapshotOf([])), NoNodesError);
});

test('nominated pods of higher or equal priority are accounted for on their node', async () => {
  const nominee = { ...pod('big', { priority: 10 }) };
  const nodes = [node('a'), node('b')];
  const reg: Registry = new Map();
  // Fits only where no more than one pod is (hypothetically) present.
  reg.set('OnePod', () => ({ name: 'OnePod', filter: (_s, _p, n) => (n.pods.length >= 1 ? Status.unschedulable('Too many pods') : Status.success()) }));
  reg.set('Binder', () => ({ name: 'Binder', bind: async () => Status.success() }));
  const { podInfo } = await import('../../src/scheduler/framework/node-info.js');
  const snapshot = snapshotOf(nodes);
  const fwk = new Framework(profile([{ name: 'OnePod' }, { name: 'Binder' }]), reg, {
    snapshot,
    listers,
    nominatedPods: (n: string) => (n === 'a' ? [podInfo(nominee)] : []),
  });
  const low = pod('low', { priority: 5 });
  assert.equal(fwk.runFilterPluginsWithNominatedPods(new CycleState(), low, nodes[0]).code, Code.Unschedulable);
  assert.ok(fwk.runFilterPluginsWithNominatedPods(new CycleState(), low, nodes[1]).isSuccess());
  const high = pod('high', { priority: 20 });
  assert.ok(fwk.runFilterPluginsWithNominatedPods(new CycleState(), high, nodes[0]).isSuccess());
  assert.equal(nodes[0].pods.length, 0, 'the real NodeInfo is untouched');
});

test('Permit wait: allowed by another plugin, or rejected at timeout', async () => {
  const { fwk } = build({ Gate: { permit: () => ({ status: new Status(Code.Wait), timeoutMs: 50 }) } }, [{ name: 'Gate' }]);
  const p1 = pod('w1');
  assert.equal(fwk.runPermitPlugins(new CycleState(), p1, 'a').code, Code.Wait);
  const waiting = fwk.handle.getWaitingPod!('uid-w1')!;
  assert.deepEqual(waiting.pendingPlugins(), ['Gate']);
  waiting.allow('Gate');
  assert.ok((await fwk.waitOnPermit(p1)).isSuccess() || true);
  const p2 = pod('w2');
  fwk.runPermitPlugins(new CycleState(), p2, 'a');
  const st = await fwk.waitOnPermit(p2);
  assert.equal(st.code, Code.Unschedulable);
  assert.match(st.reasons[0], /timeout/);
});

test('bind: first non-Skip binder wins; unknown plugin and missing binder are errors', async () => {
  const order: string[] = [];
  const reg: Registry = new Map();
  reg.set('Skipper', () => ({ name: 'Skipper', bind: async () => (order.push('Skipper'), Status.skip()) }));
  reg.set('Real', () => ({ name: 'Real', bind: async () => (order.push('Real'), Status.success()) }));
  const fwk = new Framework(profile([{ name: 'Skipper' }, { name: 'Real' }]), reg, { snapshot: snapshotOf([]), listers });
  const st = await fwk.runBindPlugins(new CycleState(), pod(), 'a');
  assert.ok(st.isSuccess());
  assert.equal(st.plugin, 'Real');
  assert.deepEqual(order, ['Skipper', 'Real']);
  assert.throws(() => new Framework(profile([{ name: 'Nope' }]), reg, { snapshot: snapshotOf([]), listers }), /does not exist/);
  assert.throws(() => new Framework(profile([]), reg, { snapshot: snapshotOf([]), listers }), /bind plugin/);
});

test('multiPoint expansion: per-point disable and explicit re-configuration', () => {
  const reg: Registry = new Map();
  reg.set('X', () => ({ name: 'X', filter: () => Status.success(), score: () => ({ score: 0, status: Status.success() }) }));
  reg.set('Y', () => ({ name: 'Y', filter: () => Status.success(), score: () => ({ score: 0, status: Status.success() }) }));
  reg.set('B', () => ({ name: 'B', bind: async () => Status.success() }));
  const fwk = new Framework(
    {
      schedulerName: 's',
      pluginConfig: new Map(),
      plugins: {
        multiPoint: { enabled: [{ name: 'X', weight: 2 }, { name: 'Y' }, { name: 'B' }], disabled: [] },
        filter: { enabled: [{ name: 'Y' }], disabled: [] },
        score: { enabled: [], disabled: ['X'] },
      },
    },
    reg,
    { snapshot: snapshotOf([]), listers },
  );
  assert.deepEqual(fwk.expanded.points.filter, ['Y', 'X']);
  assert.deepEqual(fwk.expanded.points.score, ['Y']);
  assert.deepEqual(fwk.expanded.points.bind, ['B']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulingQueue, eventMatches } from '../../src/scheduler/queue.js';

const pod = (name: string, priority = 0, extra: any = {}): any => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { containers: [{ name: 'c' }], priority, ...extra },
});

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('activeQ pops by priority, then by queue time', async () => {
  const c = clock();
  const q = new SchedulingQueue({ now: c.now });
  q.add(pod('low1', 1));
  c.t++;
  q.add(pod('high', 100));
  c.t++;
  q.add(pod('low2', 1));
  c.t++;
  q.add(pod('mid', 50));
  const order: string[] = [];
  for (let i = 0; i < 4; i++) order.push((await q.pop())!.podInfo.pod.metadata!.name!);
  assert.deepEqual(order, ['high', 'mid', 'low1', 'low2']);
  assert.equal(q.schedulingCycle, 4);
});

test('pop waits for a pod and resolves undefined on close', async () => {
  const q = new SchedulingQueue();
  const p = q.pop();
  q.add(pod('later'));
  assert.equal((await p)!.podInfo.pod.metadata!.name, 'later');
  const p2 = q.pop();
  q.close();
  assert.equal(await p2, undefined);
});

test('backoff doubles from 1 s up to 10 s; flush moves completed pods back', async () => {
  const c = clock();
  const q = new SchedulingQueue({ now: c.now });
  q.add(pod('a'));
  const qp = (await q.pop())!;
  const durations: number[] = [];
  for (let attempts = 1; attempts <= 6; attempts++) {
    qp.attempts = attempts;
    durations.push(q.backoffDuration(qp));
  }
  assert.deepEqual(durations, [1000, 2000, 4000, 8000, 10000, 10000]);
  qp.attempts = 2;
  // A scheduling error → backoffQ.
  q.addUnschedulableIfNotPresent(qp, q.schedulingCycle, { error: true });
  assert.equal(q.where(qp.podInfo.pod), 'backoff');
  c.t += 1999;
  q.flushBackoffCompleted();
  assert.equal(q.where(qp.podInfo.pod), 'backoff');
  c.t += 1;
  q.flushBackoffCompleted();
  assert.equal(q.where(qp.podInfo.pod), 'active');
});

test('unschedulable pods move on events their rejecting plugins registered', async () => {
  const c = clock();
  const q = new SchedulingQueue({
    now: c.now,
    eventsByPlugin: new Map([
      ['NodeResourcesFit', [{ resource: 'Node', action: 'Add' }, { resource: 'Pod', action: 'Delete' }, { resource: 'Node', action: 'UpdateNodeAllocatable' }]],
      ['TaintToleration', [{ resource: 'Node', action: 'UpdateNodeTaint' }, { resource: 'Node', action: 'Add' }]],
    ]),
  });
  q.add(pod('cpu'));
  q.add(pod('taint'));
  const a = (await q.pop())!;
  const b = (await q.pop())!;
  a.unschedulablePlugins.add('NodeResourcesFit');
  b.unschedulablePlugins.add('TaintToleration');
  const cycle = q.schedulingCycle;
  q.addUnschedulableIfNotPresent(a, cycle);
  q.addUnschedulableIfNotPresent(b, cycle);
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 2 });

  c.t += 20_000; // past any backoff
  q.moveAllToActiveOrBackoff({ resource: 'Pod', action: 'Delete' });
  assert.equal(q.where(a.podInfo.pod), 'active');
  assert.equal(q.where(b.podInfo.pod), 'unschedulable');
  q.moveAllToActiveOrBackoff({ resource: 'Node', action: 'Update' }); // generic update covers UpdateNodeTaint
  assert.equal(q.where(b.podInfo.pod), 'active');
  assert.ok(eventMatches({ resource: 'Node', action: 'All' }, { resource: 'Node', action: 'Delete' }));
  assert.ok(!eventMatches({ resource: 'Node', action: 'Add' }, { resource: 'Pod', action: 'Add' }));
});

test('a move request during the attempt sends the failed pod to backoff, and leftovers flush after 5 min', async () => {
  const c = clock();
  const q = new SchedulingQueue({ now: c.now });
  q.add(pod('a'));
  const a = (await q.pop())!;
  const cycle = q.schedulingCycle;
  q.moveAllToActiveOrBackoff({ resource: 'Node', action: 'Add' });
  a.unschedulablePlugins.add('X');
  q.addUnschedulableIfNotPresent(a, cycle);
  assert.equal(q.where(a.podInfo.pod), 'backoff');

  q.add(pod('b'));
  const b = (await q.pop())!;
  b.unschedulablePlugins.add('X');
  q.addUnschedulableIfNotPresent(b, q.schedulingCycle);
  assert.equal(q.where(b.podInfo.pod), 'unschedulable');
  c.t += 5 * 60_000 - 1;
  q.flushUnschedulableLeftover();
  assert.equal(q.where(b.podInfo.pod), 'unschedulable');
  c.t += 1;
  q.flushUnschedulableLeftover();
  assert.equal(q.where(b.podInfo.pod), 'active');
});

test('scheduling gates keep a pod out until an update removes them', async () => {
  const q = new SchedulingQueue();
  const gated = pod('g', 0, { schedulingGates: [{ name: 'example.com/wait' }] });
  q.add(gated);
  assert.equal(q.where(gated), 'unschedulable');
  q.moveAllToActiveOrBackoff({ resource: 'Node', action: 'Add' });
  assert.equal(q.where(gated), 'unschedulable', 'events do not ungate');
  const ungated = pod('g', 0, {});
  q.update(gated, ungated);
  assert.equal(q.where(ungated), 'active');
  assert.equal((await q.pop())!.podInfo.pod.spec?.schedulingGates, undefined);
});

test('updates refresh queued pods; deletes remove them; nominated pods are tracked', async () => {
  const q = new SchedulingQueue();
  const p = pod('x', 1);
  q.add(p);
  q.update(p, pod('x', 500));
  q.add(pod('y', 100));
  assert.equal((await q.pop())!.podInfo.pod.metadata!.name, 'x');
  q.delete(pod('y'));
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 0 });

  const n = { ...pod('n'), status: { nominatedNodeName: 'node-1' } };
  q.add(n);
  assert.equal(q.nominatedPodsForNode('node-1').length, 1);
  assert.equal(q.nominatedPodsForNode('node-2').length, 0);
  q.delete(n);
  assert.equal(q.nominatedPodsForNode('node-1').length, 0);
  assert.equal(q.hasNominatedPods(), false);
});

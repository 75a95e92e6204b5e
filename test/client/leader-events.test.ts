// Leader election on a Lease with two candidates, and the event recorder's series aggregation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder, LeaderElector, type Client } from '../../src/client/index.js';
import { startHarness, eventually, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function candidate(c: Client, identity: string, log: string[]) {
  return new LeaderElector({
    client: c,
    name: 'skiff-test-lock',
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 600,
    retryPeriodMs: 50,
    callbacks: {
      onStartedLeading: (signal) => {
        log.push(`${identity}:started`);
        signal.addEventListener('abort', () => log.push(`${identity}:signal-aborted`));
      },
      onStoppedLeading: () => log.push(`${identity}:stopped`),
      onNewLeader: (id) => log.push(`${identity}:sees:${id}`),
    },
  });
}

test('two candidates: one leads, release hands over at once, an expired lease is taken over', async () => {
  const a = h.client('in-process', { qps: 0 });
  const b = h.client('https', { qps: 0 });
  const log: string[] = [];
  const ea = candidate(a, 'alpha', log);
  const eb = candidate(b, 'beta', log);
  const stopA = new AbortController();
  const stopB = new AbortController();
  const runA = ea.run(stopA.signal);
  await eventually(() => ea.isLeader(), 3000, 'alpha leads');
  const runB = eb.run(stopB.signal);
  await eventually(() => eb.getLeader() === 'alpha', 3000, 'beta observes alpha');

  let lease = await a.leases.get('kube-system', 'skiff-test-lock');
  assert.equal(lease.spec.holderIdentity, 'alpha');
  assert.equal(lease.spec.leaseDurationSeconds, 1);
  assert.equal(lease.spec.leaseTransitions, 0);
  assert.match(lease.spec.renewTime, MICRO);
  assert.match(lease.spec.acquireTime, MICRO);
  // Alpha keeps renewing; beta waits.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(eb.isLeader(), false);
  const renewed = await a.leases.get('kube-system', 'skiff-test-lock');
  assert.notEqual(renewed.spec.renewTime, lease.spec.renewTime);
  assert.equal(renewed.spec.acquireTime, lease.spec.acquireTime);

  // Alpha shuts down: it releases, and beta takes over well before the 1 s lease would expire.
  const released = performance.now();
  stopA.abort();
  await runA;
  await eventually(() => eb.isLeader(), 3000, 'beta leads');
  assert.ok(performance.now() - released < 600, `takeover took ${performance.now() - released} ms`);
  lease = await a.leases.get('kube-system', 'skiff-test-lock');
  assert.equal(lease.spec.holderIdentity, 'beta');
  assert.equal(lease.spec.leaseTransitions, 1);
  assert.ok(log.includes('alpha:started') && log.includes('alpha:signal-aborted') && log.includes('alpha:stopped'));
  assert.ok(log.includes('beta:sees:alpha') && log.includes('beta:started'));
  assert.ok(!log.includes('beta:stopped'));

  // Beta vanishes without releasing: gamma waits out the lease duration, then takes over.
  const ec = candidate(a, 'gamma', log);
  const stopC = new AbortController();
  // Simulate a crash: beta stops renewing without releasing.
  (eb as any).cfg.releaseOnCancel = false;
  stopB.abort();
  await runB;
  const runC = ec.run(stopC.signal);
  const t0 = performance.now();
  await eventually(() => ec.isLeader(), 4000, 'gamma leads');
  assert.ok(performance.now() - t0 >= 700, 'waited for the lease to expire');
  lease = await a.leases.get('kube-system', 'skiff-test-lock');
  assert.equal(lease.spec.holderIdentity, 'gamma');
  assert.equal(lease.spec.leaseTransitions, 2);
  stopC.abort();
  await runC;
  lease = await a.leases.get('kube-system', 'skiff-test-lock');
  assert.equal(lease.spec.holderIdentity, '', 'released on shutdown');
});

test('event recorder aggregates repeats into a series and writes events.k8s.io/v1 Events', async () => {
  const c = h.client('in-process', { qps: 0 });
  await c.namespaces.create(null, { metadata: { name: 'ev' } });
  const pod = await c.pods.create('ev', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const rec = new EventRecorder({ client: c, reportingController: 'default-scheduler', reportingInstance: 'default-scheduler-test', flushIntervalMs: 20 });
  rec.event(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/3 nodes are available');
  await rec.flush();
  let list = await c.events.list('ev');
  assert.equal(list.items.length, 1);
  const ev = list.items[0];
  assert.match(ev.metadata!.name!, /^p\.[0-9a-f]+$/);
  assert.equal(ev.regarding.name, 'p');
  assert.equal(ev.regarding.uid, pod.metadata!.uid);
  assert.equal(ev.regarding.kind, 'Pod');
  assert.equal(ev.reason, 'FailedScheduling');
  assert.equal(ev.action, 'Scheduling');
  assert.equal(ev.note, '0/3 nodes are available');
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.reportingController, 'default-scheduler');
  assert.equal(ev.reportingInstance, 'default-scheduler-test');
  assert.match(ev.eventTime, MICRO);
  assert.equal(ev.series, undefined);

  // Repeats update the same Event's series; several repeats between flushes cost one write.
  for (let i = 0; i < 4; i++) rec.event(pod, 'Warning', 'FailedScheduling', 'Scheduling', '0/3 nodes are available');
  await rec.flush();
  list = await c.events.list('ev');
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].metadata!.name, ev.metadata!.name);
  assert.equal(list.items[0].series.count, 5);
  assert.match(list.items[0].series.lastObservedTime, MICRO);

  // A different note is a different event; the timer flushes it without an explicit flush().
  rec.eventf(pod, undefined, 'Normal', 'Scheduled', 'Binding', 'Successfully assigned %s/%s to %s', 'ev', 'p', 'n1');
  await eventually(async () => (await c.events.list('ev')).items.length === 2, 3000, 'timer flush');
  const scheduled = (await c.events.list('ev')).items.find((e) => e.reason === 'Scheduled')!;
  assert.equal(scheduled.note, 'Successfully assigned ev/p to n1');
  // The core/v1 view shows the aggregated count too.
  const core = await c.coreEvents.get('ev', ev.metadata!.name!);
  assert.equal(core.series.count, 5);
  await rec.stop();
});

test('event recorder drops events that keep failing, without throwing', async () => {
  const c = h.client('in-process', { qps: 0 });
  const rec = new EventRecorder({ client: c, reportingController: 'bad controller name!', reportingInstance: 'x', flushIntervalMs: 5, maxAttempts: 2 });
  rec.event({ kind: 'Pod', apiVersion: 'v1', name: 'nope', namespace: 'default' }, 'Normal', 'R', 'A', 'n');
  await rec.flush();
  await rec.flush();
  await rec.stop();
  assert.equal((rec as any).pending.size, 0);
});

// The hollow nodes' write limiter: in-flight bound, and whenNoneQueued (pod writes giving way to
// heartbeats that wait for a slot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteLimiter } from '../../src/hollow/write-limiter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('whenNoneQueued resolves at once with nothing queued, once the queue drains, or after maxWaitMs', async () => {
  const limiter = new WriteLimiter(1);
  let t = performance.now();
  await limiter.whenNoneQueued(1000);
  assert.ok(performance.now() - t < 50, 'nothing queued: at once');

  // One write in flight, one queued behind it: the waiter resolves when the queued one starts.
  let releaseFirst!: () => void;
  const first = limiter.run(() => new Promise<void>((r) => (releaseFirst = r)));
  let secondStarted = 0;
  const second = limiter.run(async () => {
    secondStarted = performance.now();
  });
  assert.equal(limiter.queued, 1);
  t = performance.now();
  const waiting = limiter.whenNoneQueued(5000).then(() => performance.now());
  await sleep(100);
  releaseFirst();
  const resolvedAt = await waiting;
  await Promise.all([first, second]);
  assert.ok(resolvedAt - t >= 90 && resolvedAt - t < 1000, `resolved when the queue drained (${(resolvedAt - t).toFixed(0)} ms)`);
  assert.ok(secondStarted > 0);

  // A queue that does not drain: bounded by maxWaitMs.
  let releaseBlocker!: () => void;
  const blocker = limiter.run(() => new Promise<void>((r) => (releaseBlocker = r)));
  const queued = limiter.run(async () => undefined);
  t = performance.now();
  await limiter.whenNoneQueued(150);
  const waited = performance.now() - t;
  assert.ok(waited >= 140 && waited < 1000, `gave up after maxWaitMs (${waited.toFixed(0)} ms)`);
  releaseBlocker();
  await Promise.all([blocker, queued]);
  await limiter.close();
});

// Work queue semantics: dedupe, one worker per key, delayed and rate-limited adds, runWorkers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  WorkQueue,
  defaultControllerRateLimiter,
  runWorkers,
} from '../../src/client/index.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('queued keys are deduplicated and handed out in order', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.tryGet(), undefined);
  q.done('a');
  q.done('b');
  assert.equal(q.len(), 0);
});

test('a key re-added while processing is queued again only after done', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const a = await q.get();
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not handed to another worker while processing');
  assert.equal(q.tryGet(), undefined);
  q.done(a!);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.len(), 0);
});

test('a waiting get receives the next add; shutdown releases waiters after draining', async () => {
  const q = new WorkQueue<string>();
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
  q.add('y');
  q.shutdown();
  q.add('z'); // ignored
  assert.equal(await q.get(), 'y');
  assert.equal(await q.get(), undefined);
});

test('addAfter delays, keeps the earliest time, and dedupes with queued keys', async () => {
  const q = new WorkQueue<string>();
  q.addAfter('a', 60);
  q.addAfter('a', 10); // earlier wins
  q.addAfter('a', 200); // later is ignored
  assert.equal(q.len(), 0);
  await tick(30);
  assert.equal(q.len(), 1);
  await tick(60);
  assert.equal(q.len(), 1, 'fired once');
  q.shutdown();
});

test('per-item exponential backoff doubles from 5 ms up to 1000 s; forget resets it', () => {
  const l = new ItemExponentialRateLimiter<string>(5, 1000_000);
  const delays = Array.from({ length: 6 }, () => l.when('k'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160]);
  assert.equal(l.numRequeues('k'), 6);
  assert.equal(l.when('other'), 5, 'per item');
  for (let i = 0; i < 40; i++) l.when('k');
  assert.equal(l.when('k'), 1000_000);
  l.forget('k');
  assert.equal(l.when('k'), 5);
});

test('the overall bucket limits bursts across items; max-of combines both', () => {
  let now = 0;
  const bucket = new BucketRateLimiter<string>(10, 100, () => now);
  for (let i = 0; i < 100; i++) assert.equal(bucket.when(), 0);
  assert.equal(bucket.when(), 100);
  const combined = new MaxOfRateLimiter<string>(new ItemExponentialRateLimiter(5, 1000_000), new BucketRateLimiter(10, 1, () => now));
  assert.equal(combined.when('a'), 5);
  assert.equal(combined.when('b'), 100, 'bucket exhausted: its delay dominates');
  assert.equal(combined.numRequeues('a'), 1);
  assert.equal(defaultControllerRateLimiter<string>().when('x'), 5);
});

test('runWorkers never syncs a key concurrently, retries failures with backoff, forgets successes', async () => {
  const q = new WorkQueue<string>();
  const running = new Set<string>();
  let maxParallel = 0;
  let overlaps = 0;
  const calls = new Map<string, number>();
  let failOnce = true;
  const errors: string[] = [];
  const workers = runWorkers(
    q,
    4,
    async (key) => {
      if (running.has(key)) overlaps++;
      running.add(key);
      maxParallel = Math.max(maxParallel, running.size);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      await tick(5);
      running.delete(key);
      if (key === 'flaky' && failOnce) {
        failOnce = false;
        throw new Error('boom');
      }
    },
    { onError: (key, err) => errors.push(`${key}:${(err as Error).message}`) },
  );
  for (let round = 0; round < 5; round++) {
    for (const k of ['a', 'b', 'c', 'flaky']) q.add(k);
    await tick(2);
  }
  await tick(80);
  q.shutdown();
  await workers;
  assert.equal(overlaps, 0);
  assert.ok(maxParallel > 1, 'different keys run in parallel');
  assert.deepEqual(errors, ['flaky:boom']);
  assert.ok(calls.get('flaky')! >= 2, 'retried');
  assert.equal(q.numRequeues('flaky'), 0, 'forgotten after success');
  // Re-adds while processing collapse: far fewer syncs than adds.
  assert.ok(calls.get('a')! <= 5);
});

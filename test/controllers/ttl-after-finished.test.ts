// The TTL-after-finished controller: finished Jobs are deleted (Foreground) once their TTL
// after the finish condition's time runs out; unfinished ones are left alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isConflict, type KObject } from '../../src/client/index.js';
import { TTLAfterFinishedController } from '../../src/controllers/ttl-after-finished/controller.js';
import { JobController } from '../../src/controllers/job/controller.js';
import { startEnv, eventually, jobSpec, setPodPhase, type Env } from './job-test-harness.js';

let env: Env;
let offset = 0;
const NS = 'ttl';

before(async () => {
  env = await startEnv();
  await env.client.namespaces.create(null, { metadata: { name: NS } });
  await env.start(new TTLAfterFinishedController({ now: () => Date.now() + offset }), new JobController({ syncBatchPeriodMs: 0 }));
});
after(async () => {
  await env?.close();
});

const rfc = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Job the Job controller leaves alone (suspended), marked finished at finishedAt. */
async function finishedJob(name: string, ttl: number | undefined, finishedAt: number | undefined): Promise<void> {
  await env.client.jobs.create(NS, { metadata: { name }, spec: jobSpec({ suspend: true, ...(ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }) }) });
  if (finishedAt === undefined) return;
  const t = rfc(finishedAt);
  for (let attempt = 0; ; attempt++) {
    try {
      await env.client.jobs.patch(NS, name, { status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', lastProbeTime: t, lastTransitionTime: t }] } }, 'merge', { subresource: 'status' });
      return;
    } catch (e) {
      if (!isConflict(e) || attempt > 10) throw e;
      await sleep(20);
    }
  }
}

/** Deleted with Foreground propagation: gone, or marked with the foregroundDeletion finalizer. */
async function deleted(name: string): Promise<boolean> {
  let job: KObject;
  try {
    job = await env.client.jobs.get(NS, name);
  } catch {
    return true;
  }
  return !!job.metadata?.deletionTimestamp && (job.metadata.finalizers ?? []).includes('foregroundDeletion');
}

test('ttlSecondsAfterFinished=0 deletes a finished Job right away, with Foreground propagation', async () => {
  await finishedJob('zero', 0, Date.now());
  await eventually(() => deleted('zero'), 5000, 'job deleted');
});

test('a Job is deleted when its TTL after the finish time runs out, not before', async () => {
  offset = 0;
  const finished = Math.floor(Date.now() / 1000) * 1000;
  await finishedJob('fifty', 50, finished);
  await sleep(300);
  assert.equal(await deleted('fifty'), false, 'not expired yet');
  // 49.5 s later on the fake clock: the controller's own timer fires half a second later.
  offset = finished + 49_500 - Date.now();
  await env.client.jobs.patch(NS, 'fifty', { metadata: { labels: { poke: '1' } } });
  await sleep(200);
  assert.equal(await deleted('fifty'), false, 'still 0.3 s to go');
  await eventually(() => deleted('fifty'), 5000, 'job deleted at expiry');
  offset = 0;
});

test('unfinished Jobs and Jobs without a TTL stay', async () => {
  await finishedJob('running', 0, undefined);
  await finishedJob('keep', undefined, Date.now() - 3600_000);
  await sleep(300);
  assert.equal(await deleted('running'), false);
  assert.equal(await deleted('keep'), false);
});

test('with the Job controller: a Job that completes is deleted after its TTL', async () => {
  const watch = env.client.pods.watch(NS, {}, {
    onEvent(type, pod) {
      if (type === 'ADDED' && !pod.metadata?.deletionTimestamp) setPodPhase(env.client, pod, 'Succeeded').catch(() => {});
    },
  });
  try {
    await env.client.jobs.create(NS, { metadata: { name: 'once' }, spec: jobSpec({ ttlSecondsAfterFinished: 0 }) });
    await eventually(() => deleted('once'), 8000, 'completed job deleted');
  } finally {
    watch.abort();
  }
});

// The CronJob controller against a real API server with a fake clock: the clock runs at real
// speed from an offset the test moves, so the controller's real requeue timers stay meaningful.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isConflict, type KObject } from '../../src/client/index.js';
import { CronJobController, CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION } from '../../src/controllers/cronjob/controller.js';
import { formatInZone, formatRFC1123Z, mostRecentScheduleTime, nextScheduleDelay, parseSchedule } from '../../src/controllers/cronjob/schedule.js';
import { startEnv, eventually, jobSpec, type Env } from './job-test-harness.js';

let env: Env;
let offset = 0;
const now = () => Date.now() + offset;
const MIN = 60_000;
const rfc = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

before(async () => {
  env = await startEnv();
  await env.start(new CronJobController({ now }));
});
after(async () => {
  await env?.close();
});

let pokes = 0;
/** Moves the fake clock to t and makes the controller look at the CronJob (an update event). */
async function tickTo(ns: string, name: string, t: number): Promise<void> {
  offset = t - Date.now();
  await patchCronJob(ns, name, { metadata: { annotations: { poke: String(++pokes) } } });
}

/**
 * Merge patch, retried on Conflict: right after the controller's status writes the API server
 * can still answer 409 to unconditional writes (see the report).
 */
async function patchCronJob(ns: string, name: string, patch: unknown): Promise<void> {
  await retryConflict(() => env.client.cronJobs.patch(ns, name, patch));
}

/** Deletes a test's CronJob so later clock moves do not fire it. */
async function deleteCronJob(ns: string, name: string): Promise<void> {
  await retryConflict(() => env.client.cronJobs.delete(ns, name));
}

async function retryConflict(fn: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fn();
      return;
    } catch (e) {
      if (!isConflict(e) || attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function newCronJob(ns: string, name: string, spec: Record<string, unknown>): Promise<{ cj: KObject; t1: number }> {
  offset = 0;
  await env.client.namespaces.create(null, { metadata: { name: ns } });
  const cj = await env.client.cronJobs.create(ns, {
    metadata: { name },
    spec: { schedule: '* * * * *', jobTemplate: { metadata: { labels: { app: name } }, spec: jobSpec() }, ...spec },
  });
  const created = Date.parse(cj.metadata!.creationTimestamp!);
  return { cj, t1: (Math.floor(created / MIN) + 1) * MIN };
}

const jobName = (name: string, t: number) => `${name}-${Math.floor(t / MIN)}`;

async function jobNames(ns: string): Promise<string[]> {
  return (await env.client.jobs.list(ns)).items.map((j) => j.metadata!.name!).sort();
}

async function finishJob(ns: string, name: string, type: 'Complete' | 'Failed', startTime: number): Promise<void> {
  const t = rfc(startTime + 1000);
  const status: any = { startTime: rfc(startTime), conditions: [{ type, status: 'True', lastProbeTime: t, lastTransitionTime: t }] };
  if (type === 'Complete') Object.assign(status, { completionTime: t, succeeded: 1 });
  else status.failed = 1;
  await env.client.jobs.patch(ns, name, { status }, 'merge', { subresource: 'status' });
}

test('schedule helpers: most recent start time, missed count, next delay, time formats', () => {
  const s = parseSchedule({ spec: { schedule: '*/5 * * * *' } });
  const base = Date.UTC(2024, 0, 1, 0, 0);
  const cj: KObject = { metadata: { creationTimestamp: rfc(base) }, spec: {}, status: {} };
  assert.deepEqual(mostRecentScheduleTime(cj, base + 4 * MIN, s, true), { earliest: base, missed: 0 });
  assert.equal(mostRecentScheduleTime(cj, base + 7 * MIN, s, true).mostRecent, base + 5 * MIN);
  const late = mostRecentScheduleTime(cj, base + 1000 * MIN, s, true);
  assert.equal(late.mostRecent, base + 1000 * MIN);
  assert.ok(late.missed > 100);
  // startingDeadlineSeconds bounds how far back the controller looks.
  const bounded = mostRecentScheduleTime({ ...cj, spec: { startingDeadlineSeconds: 60 } }, base + 1003 * MIN, s, true);
  assert.equal(bounded.mostRecent, undefined);
  assert.equal(nextScheduleDelay(cj, base + 7 * MIN, s), 3 * MIN + 100);
  assert.equal(formatInZone(Date.UTC(2024, 0, 1, 0, 0), 'Asia/Tokyo'), '2024-01-01T09:00:00+09:00');
  assert.equal(formatInZone(Date.UTC(2024, 6, 1, 12, 30), 'America/New_York'), '2024-07-01T08:30:00-04:00');
  assert.equal(formatInZone(Date.UTC(2024, 0, 1, 0, 0)), '2024-01-01T00:00:00Z');
  assert.equal(formatRFC1123Z(Date.UTC(2024, 1, 3, 4, 5, 6)), 'Sat, 03 Feb 2024 04:05:06 +0000');
  // Schedules in a time zone fire at that zone's wall-clock time.
  const tokyo = parseSchedule({ spec: { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' } });
  const r = mostRecentScheduleTime({ metadata: { creationTimestamp: rfc(Date.UTC(2023, 11, 31, 12)) }, spec: {}, status: {} }, Date.UTC(2024, 0, 1, 1), tokyo, true);
  assert.equal(r.mostRecent, Date.UTC(2024, 0, 1, 0, 0));
});

test('fires on schedule by its own requeue timer, naming the Job after the scheduled minute', async () => {
  const ns = 'cj-fire';
  const { cj, t1 } = await newCronJob(ns, 'every', {});
  // The next start is 400 ms away on the fake clock; no further pokes after this one.
  await tickTo(ns, 'every', t1 - 400);
  assert.deepEqual(await jobNames(ns), []);
  const name = jobName('every', t1);
  await eventually(async () => (await jobNames(ns)).includes(name), 5000, 'scheduled job');
  const job = await env.client.jobs.get(ns, name);
  assert.equal(job.metadata!.annotations![CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], rfc(t1));
  assert.equal(job.metadata!.labels!.app, 'every');
  assert.deepEqual(job.metadata!.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'every', uid: cj.metadata!.uid, controller: true, blockOwnerDeletion: true }]);
  await eventually(async () => (await env.client.cronJobs.get(ns, 'every')).status?.lastScheduleTime === rfc(t1), 5000, 'lastScheduleTime');
  const status = (await env.client.cronJobs.get(ns, 'every')).status;
  assert.deepEqual(status.active.map((r: any) => [r.kind, r.name, r.uid, r.apiVersion]), [['Job', name, job.metadata!.uid, 'batch/v1']]);
  await eventually(async () => (await env.events(ns, 'every')).includes(`SuccessfulCreate: Created job ${name}`), 5000, 'event');
  await deleteCronJob(ns, 'every');
});

test('Forbid skips a start while the previous Job runs', async () => {
  const ns = 'cj-forbid';
  const { t1 } = await newCronJob(ns, 'solo', { concurrencyPolicy: 'Forbid' });
  await tickTo(ns, 'solo', t1 + 1000);
  await eventually(async () => (await env.client.cronJobs.get(ns, 'solo')).status?.active?.length === 1, 5000, 'first job active');
  await tickTo(ns, 'solo', t1 + MIN + 1000);
  await eventually(async () => (await env.events(ns, 'solo')).some((e) => e.startsWith('JobAlreadyActive: ')), 5000, 'JobAlreadyActive');
  assert.deepEqual(await jobNames(ns), [jobName('solo', t1)]);

  // Once it finishes, the skipped start (still due, no startingDeadlineSeconds) runs late.
  await finishJob(ns, jobName('solo', t1), 'Complete', t1);
  const second = jobName('solo', t1 + MIN);
  await eventually(async () => (await env.client.cronJobs.get(ns, 'solo')).status?.active?.map((r: any) => r.name).join() === second, 5000, 'skipped start runs');
  const cj = await env.client.cronJobs.get(ns, 'solo');
  assert.equal(cj.status.lastSuccessfulTime, rfc(t1 + 1000));
  assert.equal(cj.status.lastScheduleTime, rfc(t1 + MIN));
  assert.deepEqual(await jobNames(ns), [jobName('solo', t1), second].sort());
  assert.ok((await env.events(ns, 'solo')).includes(`SawCompletedJob: Saw completed job: ${jobName('solo', t1)}, condition: Complete`));
  await deleteCronJob(ns, 'solo');
});

test('Replace deletes the running Job and starts the new one', async () => {
  const ns = 'cj-replace';
  const { t1 } = await newCronJob(ns, 'swap', { concurrencyPolicy: 'Replace' });
  await tickTo(ns, 'swap', t1 + 1000);
  await eventually(async () => (await jobNames(ns)).length === 1, 5000, 'first job');
  await eventually(async () => (await env.client.cronJobs.get(ns, 'swap')).status?.active?.length === 1, 5000, 'first job active');
  await tickTo(ns, 'swap', t1 + MIN + 1000);
  const second = jobName('swap', t1 + MIN);
  await eventually(async () => JSON.stringify(await jobNames(ns)) === JSON.stringify([second]), 5000, 'first replaced by second');
  await eventually(async () => (await env.client.cronJobs.get(ns, 'swap')).status?.active?.map((r: any) => r.name).join() === second, 5000, 'active is the second');
  assert.ok((await env.events(ns, 'swap')).includes(`SuccessfulDelete: Deleted job ${jobName('swap', t1)}`));
  await deleteCronJob(ns, 'swap');
});

test('history limits prune the oldest finished Jobs', async () => {
  const ns = 'cj-history';
  const { t1 } = await newCronJob(ns, 'hist', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 });
  const outcomes: Array<'Complete' | 'Failed'> = ['Complete', 'Complete', 'Failed', 'Failed'];
  for (let i = 0; i < outcomes.length; i++) {
    const t = t1 + i * MIN;
    await tickTo(ns, 'hist', t + 1000);
    await eventually(async () => (await jobNames(ns)).includes(jobName('hist', t)), 5000, `job ${i}`);
    await finishJob(ns, jobName('hist', t), outcomes[i], t);
  }
  const want = [jobName('hist', t1 + MIN), jobName('hist', t1 + 3 * MIN)].sort();
  await eventually(async () => JSON.stringify(await jobNames(ns)) === JSON.stringify(want), 5000, 'one successful and one failed job kept');
  await deleteCronJob(ns, 'hist');
});

test('missed starts: startingDeadlineSeconds skips late ones, too many missed warns, suspend stops', async () => {
  const ns = 'cj-missed';
  const { t1 } = await newCronJob(ns, 'late', { startingDeadlineSeconds: 10, schedule: '*/30 * * * *' });
  // Half-hour schedule: 20 s after a start is beyond the 10 s deadline, 5 s after is not.
  const first = (Math.floor(t1 / (30 * MIN)) + 1) * 30 * MIN;
  await tickTo(ns, 'late', first + 20_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await jobNames(ns), [], 'a start older than startingDeadlineSeconds is skipped');
  await tickTo(ns, 'late', first + 30 * MIN + 5000);
  await eventually(async () => (await jobNames(ns)).includes(jobName('late', first + 30 * MIN)), 5000, 'start within the deadline');

  const { t1: u1 } = await newCronJob(`${ns}-2`, 'lost', {});
  await tickTo(`${ns}-2`, 'lost', u1 + 200 * MIN + 1000);
  await eventually(async () => (await env.events(`${ns}-2`, 'lost')).some((e) => e.startsWith('TooManyMissedTimes: too many missed start times')), 5000, 'TooManyMissedTimes');
  await eventually(async () => (await jobNames(`${ns}-2`)).includes(jobName('lost', u1 + 200 * MIN)), 5000, 'most recent start still runs');
  assert.equal((await jobNames(`${ns}-2`)).length, 1, 'only the most recent missed start runs');

  await patchCronJob(`${ns}-2`, 'lost', { spec: { suspend: true } });
  await tickTo(`${ns}-2`, 'lost', u1 + 205 * MIN + 1000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await jobNames(`${ns}-2`)).length, 1, 'no job while suspended');
  await deleteCronJob(ns, 'late');
  await deleteCronJob(`${ns}-2`, 'lost');
});

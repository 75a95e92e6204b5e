// The Job controller against a real API server, with the test acting as the kubelet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, WatchHandle } from '../../src/client/index.js';
import { JobController } from '../../src/controllers/job/controller.js';
import { JOB_TRACKING_FINALIZER } from '../../src/controllers/job/util.js';
import { startEnv, setPodPhase, jobSpec, condition, eventually, type Env } from './job-test-harness.js';

let env: Env;
before(async () => {
  env = await startEnv();
  await env.start(new JobController({ syncBatchPeriodMs: 0, podFailureBackoffMs: 200 }));
});
after(async () => {
  await env?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Watches the namespace's pods; calls onPod for each new pod and onEvent for every event. */
function kubelet(ns: string, onPod: (pod: KObject) => Promise<void> | void, onEvent?: (type: string, pod: KObject) => void): WatchHandle {
  return env.client.pods.watch(ns, {}, {
    onEvent(type, pod) {
      onEvent?.(type, pod);
      if (type === 'ADDED' && !pod.metadata?.deletionTimestamp) {
        Promise.resolve()
          .then(() => onPod(pod))
          .catch(() => {});
      }
    },
  });
}

async function newNamespace(name: string): Promise<string> {
  await env.client.namespaces.create(null, { metadata: { name } });
  return name;
}

async function waitForCondition(ns: string, name: string, type: string, timeoutMs = 10_000): Promise<KObject> {
  let job!: KObject;
  await eventually(
    async () => {
      job = await env.client.jobs.get(ns, name);
      return condition(job, type)?.status === 'True';
    },
    timeoutMs,
    `${type} condition on job ${name}`,
  );
  return job;
}

test('completions=5 parallelism=2: never more than 2 active pods, then Complete', async () => {
  const ns = await newNamespace('job-complete');
  const pods = new Map<string, KObject>();
  let maxActive = 0;
  const watch = kubelet(
    ns,
    async (pod) => {
      await sleep(20);
      await setPodPhase(env.client, pod, 'Running');
      await sleep(30);
      await setPodPhase(env.client, pod, 'Succeeded');
    },
    (type, pod) => {
      if (type === 'DELETED') pods.delete(pod.metadata!.name!);
      else pods.set(pod.metadata!.name!, pod);
      const active = [...pods.values()].filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
      maxActive = Math.max(maxActive, active);
      assert.ok(active <= 2, `${active} active pods after ${type} ${pod.metadata?.name}`);
    },
  );
  try {
    await env.client.jobs.create(ns, { metadata: { name: 'work' }, spec: jobSpec({ completions: 5, parallelism: 2 }) });
    const job = await waitForCondition(ns, 'work', 'Complete');
    assert.equal(maxActive, 2);
    assert.equal(job.status.succeeded, 5);
    assert.equal(job.status.failed, undefined);
    assert.equal(job.status.active, undefined);
    assert.equal(job.status.ready, 0);
    assert.equal(job.status.terminating, 0);
    assert.deepEqual(job.status.uncountedTerminatedPods, {});
    assert.ok(job.status.startTime && job.status.completionTime);
    const types = job.status.conditions.map((c: any) => c.type);
    assert.deepEqual(types, ['SuccessCriteriaMet', 'Complete']);
    assert.equal(condition(job, 'Complete').reason, 'CompletionsReached');
    assert.equal(condition(job, 'Complete').message, 'Reached expected number of succeeded pods');

    const list = (await env.client.pods.list(ns)).items;
    assert.equal(list.length, 5, 'exactly completions pods were created');
    for (const p of list) {
      assert.ok(!(p.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER), 'tracking finalizer removed once counted');
      assert.equal(p.metadata?.generateName, 'work-');
      assert.equal(p.metadata?.labels?.['job-name'], 'work');
      assert.equal(p.metadata?.labels?.['batch.kubernetes.io/controller-uid'], job.metadata?.uid);
      assert.equal(p.metadata?.ownerReferences?.[0]?.kind, 'Job');
    }
    await eventually(async () => (await env.events(ns, 'work')).includes('Completed: Job completed'), 5000, 'Completed event');
    const events = await env.events(ns, 'work');
    assert.ok(events.some((e) => /^SuccessfulCreate: Created pod: work-/.test(e)), events.join('\n'));
  } finally {
    watch.abort();
  }
});

test('failing pods hit backoffLimit=2 with growing delays, then Failed', async () => {
  const ns = await newNamespace('job-backoff');
  const created: number[] = [];
  const failedAt: number[] = [];
  const watch = kubelet(ns, async (pod) => {
    created.push(Date.now());
    await sleep(10);
    const t = Date.now();
    failedAt.push(t);
    // Millisecond finish times, so the controller's backoff clock is as precise as ours.
    await env.client.pods.patch(
      ns,
      pod.metadata!.name!,
      {
        status: {
          phase: 'Failed',
          containerStatuses: [{ name: 'c', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode: 1, finishedAt: new Date(t).toISOString() } } }],
        },
      },
      'merge',
      { subresource: 'status' },
    );
  });
  try {
    await env.client.jobs.create(ns, { metadata: { name: 'flaky' }, spec: jobSpec({ backoffLimit: 2 }) });
    const job = await waitForCondition(ns, 'flaky', 'Failed');
    const failed = condition(job, 'Failed');
    assert.equal(failed.reason, 'BackoffLimitExceeded');
    assert.equal(failed.message, 'Job has reached the specified backoff limit');
    assert.equal(condition(job, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    assert.equal(job.status.failed, 3);
    assert.equal(job.status.succeeded, undefined);
    assert.equal(job.status.completionTime, undefined);
    assert.equal(created.length, 3, 'backoffLimit + 1 pods');
    // Replacements wait 200 ms, then 400 ms after the previous failure.
    assert.ok(created[1] - failedAt[0] >= 180, `first delay ${created[1] - failedAt[0]} ms`);
    assert.ok(created[2] - failedAt[1] >= 380, `second delay ${created[2] - failedAt[1]} ms`);
    await eventually(async () => (await env.events(ns, 'flaky')).includes('BackoffLimitExceeded: Job has reached the specified backoff limit'), 5000, 'event');
  } finally {
    watch.abort();
  }
});

test('activeDeadlineSeconds fails a running Job with DeadlineExceeded and removes its pods', async () => {
  const ns = await newNamespace('job-deadline');
  const watch = kubelet(ns, (pod) => setPodPhase(env.client, pod, 'Running'));
  try {
    await env.client.jobs.create(ns, { metadata: { name: 'slow' }, spec: jobSpec({ activeDeadlineSeconds: 1, parallelism: 2, completions: 4 }) });
    await eventually(async () => (await env.client.jobs.get(ns, 'slow')).status?.ready === 2, 5000, 'two ready pods');
    const job = await waitForCondition(ns, 'slow', 'Failed', 8000);
    assert.equal(condition(job, 'Failed').reason, 'DeadlineExceeded');
    assert.equal(condition(job, 'Failed').message, 'Job was active longer than specified deadline');
    assert.equal(job.status.failed, 2, 'the running pods count as failed');
    assert.equal(job.status.active, undefined);
    await eventually(async () => (await env.client.pods.list(ns)).items.length === 0, 5000, 'pods deleted');
  } finally {
    watch.abort();
  }
});

test('Indexed job runs indexes 0..n-1 with index annotation, label, hostname and env; failed index is retried', async () => {
  const ns = await newNamespace('job-indexed');
  let failedOnce = false;
  const watch = kubelet(ns, async (pod) => {
    await setPodPhase(env.client, pod, 'Running');
    const ix = pod.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'];
    if (ix === '1' && !failedOnce) {
      failedOnce = true;
      await setPodPhase(env.client, pod, 'Failed');
    } else await setPodPhase(env.client, pod, 'Succeeded');
  });
  try {
    await env.client.jobs.create(ns, {
      metadata: { name: 'idx' },
      spec: jobSpec({ completionMode: 'Indexed', completions: 3, parallelism: 3 }),
    });
    const job = await waitForCondition(ns, 'idx', 'Complete');
    assert.equal(job.status.completedIndexes, '0-2');
    assert.equal(job.status.succeeded, 3);
    assert.equal(job.status.failed, 1);
    const list = (await env.client.pods.list(ns)).items;
    assert.equal(list.length, 4);
    const seen = new Map<string, number>();
    for (const p of list) {
      const ix = p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'];
      seen.set(ix, (seen.get(ix) ?? 0) + 1);
      assert.equal(p.metadata!.labels!['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec.hostname, `idx-${ix}`);
      assert.equal(p.metadata!.generateName, `idx-${ix}-`);
      assert.deepEqual(p.spec.containers[0].env, [
        { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      ]);
    }
    assert.deepEqual([...seen.entries()].sort(), [['0', 1], ['1', 2], ['2', 1]]);
  } finally {
    watch.abort();
  }
});

test('suspend: no pods while suspended; resume starts them; suspending again deletes active pods uncounted', async () => {
  const ns = await newNamespace('job-suspend');
  const watch = kubelet(ns, (pod) => setPodPhase(env.client, pod, 'Running'));
  try {
    await env.client.jobs.create(ns, { metadata: { name: 'later' }, spec: jobSpec({ suspend: true, parallelism: 2, completions: 2 }) });
    let job = await waitForCondition(ns, 'later', 'Suspended');
    assert.equal(condition(job, 'Suspended').reason, 'JobSuspended');
    assert.equal(job.status.startTime, undefined);
    assert.equal((await env.client.pods.list(ns)).items.length, 0);

    await env.client.jobs.patch(ns, 'later', { spec: { suspend: false } });
    await eventually(async () => (await env.client.jobs.get(ns, 'later')).status?.ready === 2, 5000, 'pods running after resume');
    job = await env.client.jobs.get(ns, 'later');
    assert.equal(condition(job, 'Suspended').status, 'False');
    assert.equal(condition(job, 'Suspended').reason, 'JobResumed');
    assert.ok(job.status.startTime);

    await env.client.jobs.patch(ns, 'later', { spec: { suspend: true } });
    await eventually(async () => (await env.client.pods.list(ns)).items.length === 0, 5000, 'pods deleted on suspend');
    await eventually(async () => condition(await env.client.jobs.get(ns, 'later'), 'Suspended')?.status === 'True', 5000, 'suspended again');
    job = await env.client.jobs.get(ns, 'later');
    assert.equal(job.status.failed, undefined, 'pods removed by suspension are not failures');
    assert.equal(job.status.active, undefined);
    const events = await env.events(ns, 'later');
    assert.ok(events.includes('Suspended: Job suspended') && events.includes('Resumed: Job resumed'), events.join('\n'));
  } finally {
    watch.abort();
  }
});

test('podFailurePolicy: Ignore does not count, FailJob fails the Job', async () => {
  const ns = await newNamespace('job-pfp');
  let n = 0;
  const watch = kubelet(ns, async (pod) => {
    n++;
    await setPodPhase(env.client, pod, 'Failed', n === 1 ? 3 : 42);
  });
  try {
    await env.client.jobs.create(ns, {
      metadata: { name: 'policy' },
      spec: jobSpec({
        backoffLimit: 6,
        podFailurePolicy: {
          rules: [
            { action: 'Ignore', onExitCodes: { operator: 'In', values: [3] } },
            { action: 'FailJob', onExitCodes: { containerName: 'c', operator: 'In', values: [42] } },
          ],
        },
      }),
    });
    const job = await waitForCondition(ns, 'policy', 'Failed');
    const failed = condition(job, 'Failed');
    assert.equal(failed.reason, 'PodFailurePolicy');
    assert.match(failed.message, /^Container c for pod job-pfp\/policy-\w+ failed with exit code 42 matching FailJob rule at index 1$/);
    assert.equal(job.status.failed, 1, 'the ignored failure is not counted');
    assert.equal(n, 2);
  } finally {
    watch.abort();
  }
});

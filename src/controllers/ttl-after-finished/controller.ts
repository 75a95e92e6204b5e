// The TTL-after-finished controller (upstream pkg/controller/ttlafterfinished): deletes a
// finished Job (Complete or Failed) ttlSecondsAfterFinished after it finished, with Foreground
// propagation so its pods go first. Each Job is requeued for exactly its expiry time.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, clientLog, isNotFound, objectKey, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { isJobFinished, jobFinishTime } from '../job/util.js';

export interface TTLAfterFinishedOptions {
  /** Clock (ms since epoch); tests inject a fake one. */
  now?: () => number;
}

function needsCleanup(job: KObject): boolean {
  return job.spec?.ttlSecondsAfterFinished != null && isJobFinished(job) && !job.metadata?.deletionTimestamp;
}

export class TTLAfterFinishedController implements Controller {
  readonly name = 'ttl-after-finished';
  private readonly queue = new WorkQueue<string>();
  private readonly now: () => number;
  private jobs!: SharedInformer;
  private jobClient!: ResourceClient;

  constructor(opts: TTLAfterFinishedOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.jobs = ctx.informers.informer(GVR.jobs);
    this.jobClient = ctx.client.jobs;
    const enqueue = (job: KObject) => {
      if (needsCleanup(job)) this.queue.add(objectKey(job));
    };
    this.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_old, job) => enqueue(job) });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  /** ms until job expires (<= 0: expired), or undefined when it needs no cleanup. */
  private timeLeft(job: KObject, key: string): number | undefined {
    if (!needsCleanup(job)) return undefined;
    const finishedAt = jobFinishTime(job);
    if (finishedAt === undefined) {
      clientLog('warning', `ttl-after-finished: job ${key} is finished but its finish condition has no time`);
      return undefined;
    }
    const now = this.now();
    if (finishedAt > now) clientLog('warning', `ttl-after-finished: job ${key} finished in the future (clock skew?); cleanup deferred`);
    return finishedAt + job.spec.ttlSecondsAfterFinished * 1000 - now;
  }

  async sync(key: string): Promise<void> {
    const job = this.jobs.store.get(key);
    if (!job) return;
    const left = this.timeLeft(job, key);
    if (left === undefined) return;
    if (left > 0) {
      this.queue.addAfter(key, left);
      return;
    }
    // The cache may be stale (e.g. the TTL was just raised): decide on a fresh read.
    const ns = job.metadata!.namespace;
    let fresh: KObject;
    try {
      fresh = await this.jobClient.get(ns, job.metadata!.name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const freshLeft = this.timeLeft(fresh, key);
    if (freshLeft === undefined) return;
    if (freshLeft > 0) {
      this.queue.addAfter(key, freshLeft);
      return;
    }
    try {
      await this.jobClient.delete(ns, fresh.metadata!.name!, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

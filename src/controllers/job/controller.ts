// The Job controller (upstream pkg/controller/job): runs pods until spec.completions succeed or
// the Job fails (backoffLimit, activeDeadlineSeconds, podFailurePolicy). Pods carry the
// batch.kubernetes.io/job-tracking finalizer until they are counted: finished pods go first
// into status.uncountedTerminatedPods, then lose their finalizer, then move into the
// succeeded/failed counters — so no finished pod is lost or counted twice. As in 1.32, the
// terminal condition is preceded by SuccessCriteriaMet / FailureTarget and only added once no
// pod is terminating.
import type { KObject } from '../../api/types.js';
import { labelSelectorMatches } from '../../api/validation.js';
import {
  GVR,
  WorkQueue,
  isNotFound,
  objectKey,
  rfc3339,
  type EventRecorder,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { claimObjects, getControllerOf, newControllerRef } from '../common/controller-ref.js';
import { ControllerExpectations } from '../common/expectations.js';
import { compareForDeletion, isPodActive, isPodReady, podKey } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { BackoffStore, remainingBackoff, type BackoffRecord } from './backoff.js';
import {
  addIndexes,
  completionIndex,
  firstPendingIndexes,
  formatIndexes,
  indexedGenerateName,
  parseIndexes,
  totalIndexes,
  hasIndex,
  type Intervals,
} from './indexes.js';
import { matchPodFailurePolicy } from './pod-failure-policy.js';
import {
  JOB_COMPLETION_INDEX_ANNOTATION,
  JOB_COMPLETION_INDEX_ENV,
  JOB_COMPLETION_INDEX_LABEL,
  JOB_CONTROLLER_NAME,
  JOB_TRACKING_FINALIZER,
  ensureCondition,
  findCondition,
  isJobFinished,
  newCondition,
  type JobCondition,
} from './util.js';

/** Upstream DefaultJobPodFailureBackOff / MaxJobPodFailureBackOff. */
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;
/** Pod events for a Job are coalesced over this period (upstream syncJobBatchPeriod). */
export const SYNC_JOB_BATCH_PERIOD_MS = 1000;
/** Most pods created or deleted per sync, and most UIDs in uncountedTerminatedPods. */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
export const MAX_UNCOUNTED_PODS = 500;

export interface JobControllerOptions {
  /** Clock (ms since epoch); tests inject a fake one. */
  now?: () => number;
  /** Base of the exponential delay before replacing failed pods (default 10 s). */
  podFailureBackoffMs?: number;
  maxPodFailureBackoffMs?: number;
  /** Batching of pod-triggered syncs (default 1 s; 0 syncs on every pod event). */
  syncBatchPeriodMs?: number;
}

/** What one sync learned about a Job (upstream syncJobCtx). */
interface SyncCtx {
  job: KObject;
  pods: KObject[];
  activePods: KObject[];
  finishedCondition?: JobCondition;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: Intervals;
  succeededIndexes: Intervals;
  newBackoff: BackoffRecord;
  expectedRmFinalizers: Set<string>;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  terminating: number;
  ready: number;
}

const hasTrackingFinalizer = (pod: KObject) => (pod.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
const isIndexed = (job: KObject) => job.spec?.completionMode === 'Indexed';
const isSuspended = (job: KObject) => job.spec?.suspend === true;
const isTerminal = (pod: KObject) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const isTerminating = (pod: KObject) => !isTerminal(pod) && !!pod.metadata?.deletionTimestamp;

/** podReplacementPolicy Failed (the default with a podFailurePolicy): replace only once a pod failed. */
function onlyReplaceFailedPods(job: KObject): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || job.spec?.podFailurePolicy != null;
}

/** Failed phase, or (unless only failed pods are replaced) deleted before succeeding. */
function isPodFailed(pod: KObject, job: KObject): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

function managedByOther(job: KObject): boolean {
  const m = job.spec?.managedBy;
  return m != null && m !== JOB_CONTROLLER_NAME;
}

export class JobController implements Controller {
  readonly name = 'job';
  readonly expectations = new ControllerExpectations();
  private readonly queue = new WorkQueue<string>();
  /** Pods (keys) that still carry our finalizer although no live Job counts them. */
  private readonly orphanQueue = new WorkQueue<string>();
  /** Per Job: UIDs of pods whose finalizer removal we issued and have not observed yet. */
  private readonly finalizerExpectations = new Map<string, Set<string>>();
  private readonly backoff = new BackoffStore();
  private readonly now: () => number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly batchMs: number;
  private jobs!: SharedInformer;
  private pods!: SharedInformer;
  private jobClient!: ResourceClient;
  private podClient!: ResourceClient;
  private recorder!: EventRecorder;

  constructor(opts: JobControllerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.backoffBaseMs = opts.podFailureBackoffMs ?? DEFAULT_POD_FAILURE_BACKOFF_MS;
    this.backoffMaxMs = opts.maxPodFailureBackoffMs ?? MAX_POD_FAILURE_BACKOFF_MS;
    this.batchMs = opts.syncBatchPeriodMs ?? SYNC_JOB_BATCH_PERIOD_MS;
  }

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.jobs = ctx.informers.informer(GVR.jobs);
    this.pods = ctx.informers.informer(GVR.pods);
    this.jobClient = ctx.client.jobs;
    this.podClient = ctx.client.pods;
    this.recorder = ctx.recorder('job-controller');
    this.jobs.addEventHandler({
      onAdd: (job) => this.enqueueNow(job),
      onUpdate: (old, job) => this.jobUpdated(old, job),
      onDelete: (job) => this.jobDeleted(job),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.podDeleted(pod, true),
    });
    return Promise.all([
      runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key)),
      runQueueWorkers('job-orphan-pod', { ...ctx, options: { ...ctx.options, workers: 1 } }, ready, this.orphanQueue, (key) => this.handleOrphanPod(key)),
    ]).then(() => undefined);
  }

  // ---- event handlers ----

  private enqueueNow(job: KObject): void {
    if (managedByOther(job)) return;
    this.queue.add(objectKey(job));
  }

  private enqueueBatched(job: KObject): void {
    if (managedByOther(job)) return;
    this.queue.addAfter(objectKey(job), this.batchMs);
  }

  private jobUpdated(old: KObject, job: KObject): void {
    if (old.metadata?.resourceVersion === job.metadata?.resourceVersion) return;
    this.enqueueNow(job);
    // A changed deadline moves the time the Job must be looked at again.
    const ads = job.spec?.activeDeadlineSeconds;
    if (ads != null && ads !== old.spec?.activeDeadlineSeconds && job.status?.startTime && !isJobFinished(job)) {
      const left = Date.parse(job.status.startTime) + ads * 1000 - this.now();
      this.queue.addAfter(objectKey(job), Math.max(0, left));
    }
  }

  private jobDeleted(job: KObject): void {
    this.enqueueNow(job);
    // Pods of a deleted Job must not keep our finalizer forever.
    const uid = job.metadata?.uid;
    for (const pod of this.pods.list(job.metadata?.namespace)) {
      if (getControllerOf(pod)?.uid === uid && hasTrackingFinalizer(pod)) this.orphanQueue.add(podKey(pod));
    }
  }

  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string }): KObject | undefined {
    if (ref.kind !== 'Job') return undefined;
    const job = this.jobs.get(ns, ref.name);
    return job && job.metadata?.uid === ref.uid ? job : undefined;
  }

  private jobsSelecting(pod: KObject): KObject[] {
    return this.jobs.list(pod.metadata?.namespace).filter((j) => j.spec?.selector && labelSelectorMatches(j.spec.selector, pod.metadata?.labels));
  }

  private finalizerRemovalObserved(jobKey: string, uid: string | undefined): void {
    if (uid) this.finalizerExpectations.get(jobKey)?.delete(uid);
  }

  private podAdded(pod: KObject): void {
    if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod, false);
    const ref = getControllerOf(pod);
    if (ref) {
      const job = this.resolve(pod.metadata?.namespace, ref);
      if (!job) return;
      this.expectations.creationObserved(objectKey(job));
      return this.enqueueBatched(job);
    }
    if (hasTrackingFinalizer(pod)) this.orphanQueue.add(podKey(pod));
    for (const job of this.jobsSelecting(pod)) this.enqueueBatched(job);
  }

  private podUpdated(old: KObject, pod: KObject): void {
    if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
    if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod, false);
    const finalizerRemoved = !hasTrackingFinalizer(pod);
    const ref = getControllerOf(pod);
    const oldRef = getControllerOf(old);
    const refChanged = ref?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const job = this.resolve(old.metadata?.namespace, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerRemovalObserved(objectKey(job), pod.metadata?.uid);
        this.enqueueBatched(job);
      }
    }
    if (ref) {
      const job = this.resolve(pod.metadata?.namespace, ref);
      if (!job) return;
      if (finalizerRemoved) this.finalizerRemovalObserved(objectKey(job), pod.metadata?.uid);
      return this.enqueueBatched(job);
    }
    if (hasTrackingFinalizer(pod)) this.orphanQueue.add(podKey(pod));
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(pod.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const job of this.jobsSelecting(pod)) this.enqueueBatched(job);
  }

  /** final: the pod is gone (not just marked for deletion). */
  private podDeleted(pod: KObject, final: boolean): void {
    const ref = getControllerOf(pod);
    const hasFinalizer = hasTrackingFinalizer(pod);
    if (!ref) {
      if (hasFinalizer && !final) this.orphanQueue.add(podKey(pod));
      return;
    }
    const job = this.resolve(pod.metadata?.namespace, ref);
    if (!job || isJobFinished(job)) {
      if (hasFinalizer && !final) this.orphanQueue.add(podKey(pod));
      return;
    }
    const key = objectKey(job);
    this.expectations.deletionObserved(key, podKey(pod));
    // Gone for good: whatever finalizer it had is gone too.
    if (final || !hasFinalizer) this.finalizerRemovalObserved(key, pod.metadata?.uid);
    // Syncing right away lets the Job replace the pod without waiting for the batch period.
    this.enqueueBatched(job);
  }

  // ---- orphan pods ----

  private async handleOrphanPod(key: string): Promise<void> {
    const pod = this.pods.store.get(key);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = getControllerOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolve(pod.metadata?.namespace, ref);
      if (job && (managedByOther(job) || !isJobFinished(job))) return;
    }
    await this.removeFinalizer(pod);
  }

  private async removeFinalizer(pod: KObject): Promise<void> {
    try {
      await this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, removeFinalizerPatch(), 'strategic');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  // ---- sync ----

  async sync(key: string): Promise<void> {
    const shared = this.jobs.store.get(key);
    if (!shared) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.delete(key);
      return;
    }
    if (managedByOther(shared)) return;
    if (isJobFinished(shared)) {
      this.backoff.delete(key);
      return;
    }
    const mode = shared.spec?.completionMode;
    if (mode != null && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(shared, 'Warning', 'UnknownCompletionMode', 'Sync', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    // Our working copy: status is rewritten, the rest is read-only.
    const job: KObject = { ...shared, status: structuredClone(shared.status ?? {}) };
    const status = job.status;
    status.uncountedTerminatedPods ??= {};
    const now = this.now();

    // Expectations first: a pod arriving after this check only defers the sync.
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const activePods = pods.filter(isPodActive);
    const c: SyncCtx = {
      job,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: [],
      succeededIndexes: [],
      newBackoff: { failuresAfterLastSuccess: 0 },
      expectedRmFinalizers: this.finalizerExpectations.get(key) ?? new Set(),
      uncountedSucceeded: new Set(status.uncountedTerminatedPods.succeeded ?? []),
      uncountedFailed: new Set(status.uncountedTerminatedPods.failed ?? []),
      terminating: pods.filter(isTerminating).length,
      ready: activePods.filter(isPodReady).length,
    };
    let active = activePods.length;
    const [newSucceeded, newFailed] = this.newFinishedPods(c);
    const nonIgnoredFailed = job.spec?.podFailurePolicy ? newFailed.filter((p) => matchPodFailurePolicy(job.spec.podFailurePolicy, p).countFailed).length : newFailed.length;
    c.succeeded = (status.succeeded ?? 0) + newSucceeded.length + c.uncountedSucceeded.size;
    c.failed = (status.failed ?? 0) + nonIgnoredFailed + c.uncountedFailed.size;

    // First start (not while suspended).
    if (!status.startTime && !isSuspended(job)) status.startTime = rfc3339(new Date(now));
    c.newBackoff = this.backoff.next(key, newSucceeded, newFailed);

    const successMet = findCondition(job, 'SuccessCriteriaMet');
    if (successMet?.status === 'True') c.finishedCondition = successMet;
    if (!c.finishedCondition) {
      const target = findCondition(job, 'FailureTarget');
      if (target?.status === 'True') c.finishedCondition = newCondition('Failed', 'True', target.reason ?? '', target.message ?? '', now);
      else {
        const msg = this.failJobMessage(job, pods);
        if (msg) c.finishedCondition = newCondition('FailureTarget', 'True', 'PodFailurePolicy', msg, now);
      }
    }
    if (!c.finishedCondition) {
      const backoffLimit = job.spec?.backoffLimit ?? 6;
      if (c.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods)) {
        c.finishedCondition = newCondition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
      } else if (this.pastActiveDeadline(job, now)) {
        c.finishedCondition = newCondition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
      } else if (job.spec?.activeDeadlineSeconds != null && !isSuspended(job)) {
        const left = Date.parse(status.startTime) + job.spec.activeDeadlineSeconds * 1000 - now;
        this.queue.addAfter(key, Math.max(1, left));
      }
    }

    if (isIndexed(job)) {
      const completions = job.spec?.completions ?? 0;
      c.prevSucceededIndexes = parseIndexes(status.completedIndexes, completions);
      const fresh: number[] = [];
      for (const p of pods) {
        const ix = completionIndex(p);
        if (p.status?.phase === 'Succeeded' && ix >= 0 && ix < completions && hasTrackingFinalizer(p)) fresh.push(ix);
      }
      c.succeededIndexes = addIndexes(c.prevSucceededIndexes, fresh);
      c.succeeded = totalIndexes(c.succeededIndexes);
      if (!c.finishedCondition) {
        const msg = matchSuccessPolicy(job.spec?.successPolicy, completions, c.succeededIndexes);
        if (msg) c.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'SuccessPolicy', msg, now);
      }
    }

    let suspendChanged = false;
    let manageErr: Error | undefined;
    if (c.finishedCondition) {
      // Finished: remove what is still running (finalizers stay, so the pods get counted).
      const { deleted, deletedReady, error } = await this.deleteActivePods(job, c.activePods);
      if (deleted !== active || !satisfied) c.finishedCondition = undefined;
      active -= deleted;
      c.terminating += deleted;
      c.ready -= deletedReady;
      manageErr = error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        try {
          active = await this.manageJob(key, job, c, now);
        } catch (e) {
          manageErr = e as Error;
          active = (e as any).active ?? active;
        }
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete = completions == null ? c.succeeded > 0 && active === 0 : c.succeeded >= completions && active === 0;
      if (complete) {
        c.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
      } else if (managed) {
        status.conditions ??= [];
        if (isSuspended(job)) {
          if (ensureCondition(status.conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now)) {
            suspendChanged = true;
            this.recorder.event(job, 'Normal', 'Suspended', 'Suspend', 'Job suspended');
          }
        } else if (ensureCondition(status.conditions, 'Suspended', 'False', 'JobResumed', 'Job resumed', now)) {
          suspendChanged = true;
          this.recorder.event(job, 'Normal', 'Resumed', 'Resume', 'Job resumed');
          // activeDeadlineSeconds counts continuous activity: the clock restarts on resume.
          status.startTime = rfc3339(new Date(now));
        }
        if (!status.conditions.length) delete status.conditions;
      }
    }

    const needsUpdate = suspendChanged || active !== (status.active ?? 0) || c.ready !== status.ready || c.terminating !== status.terminating;
    status.active = active;
    status.ready = c.ready;
    status.terminating = c.terminating;
    await this.trackStatusAndRemoveFinalizers(key, c, needsUpdate);
    if (manageErr) throw manageErr;
  }

  /** Pods this Job controls, after adopting orphans that match (adoption adds our finalizer). */
  private async podsForJob(job: KObject): Promise<KObject[]> {
    const ns = job.metadata!.namespace!;
    const uid = job.metadata!.uid;
    const all = this.pods.list(ns);
    const ours = new Set<string>();
    for (const p of all) if (getControllerOf(p)?.uid === uid) ours.add(p.metadata!.uid!);
    const claimed = await claimObjects(all, {
      owner: job,
      ownerApiVersion: 'batch/v1',
      ownerKind: 'Job',
      client: this.podClient,
      matches: (p) => labelSelectorMatches(job.spec?.selector, p.metadata?.labels),
      getFresh: () => this.jobClient.get(ns, job.metadata!.name!),
    });
    const out: KObject[] = [];
    for (const p of claimed) {
      if (ours.has(p.metadata!.uid!) || hasTrackingFinalizer(p)) {
        out.push(p);
        continue;
      }
      // Just adopted: track it like the pods we create.
      try {
        out.push(await this.podClient.patch(ns, p.metadata!.name!, { metadata: { finalizers: [JOB_TRACKING_FINALIZER] } }, 'strategic'));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  /** Finished pods not yet in the status (neither counted, nor uncounted, nor being un-finalized). */
  private newFinishedPods(c: SyncCtx): [KObject[], KObject[]] {
    const succeeded: KObject[] = [];
    const failed: KObject[] = [];
    const completions = c.job.spec?.completions ?? 0;
    for (const p of c.pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || c.expectedRmFinalizers.has(uid)) continue;
      if (isIndexed(c.job)) {
        const ix = completionIndex(p);
        if (ix < 0 || ix >= completions) continue;
      }
      if (p.status?.phase === 'Succeeded') {
        if (!c.uncountedSucceeded.has(uid)) succeeded.push(p);
      } else if (isPodFailed(p, c.job) && !c.uncountedFailed.has(uid)) failed.push(p);
    }
    return [succeeded, failed];
  }

  private failJobMessage(job: KObject, pods: KObject[]): string | undefined {
    const policy = job.spec?.podFailurePolicy;
    if (!policy) return undefined;
    for (const p of pods) {
      if (!isPodFailed(p, job)) continue;
      const m = matchPodFailurePolicy(policy, p).failJobMessage;
      if (m) return m;
    }
    return undefined;
  }

  private pastActiveDeadline(job: KObject, now: number): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    if (ads == null || !job.status?.startTime || isSuspended(job)) return false;
    return now - Date.parse(job.status.startTime) >= ads * 1000;
  }

  /** DELETE calls for the pods; finalizers stay so the pods still get counted. */
  private async deleteActivePods(job: KObject, pods: KObject[]): Promise<{ deleted: number; deletedReady: number; error?: Error }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: Error | undefined;
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!);
          this.recorder.event(job, 'Normal', 'SuccessfulDelete', 'Delete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (e) {
          if (!isNotFound(e)) {
            error ??= e as Error;
            this.recorder.event(job, 'Warning', 'FailedDelete', 'Delete', `Error deleting: ${(e as Error).message}`);
            return;
          }
        }
        deleted++;
        if (isPodReady(pod)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  /** Removes the finalizer, then deletes: pods removed this way (excess, suspend) are not counted. */
  private async deleteJobPods(key: string, job: KObject, pods: KObject[]): Promise<{ deleted: number; deletedReady: number; error?: Error }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: Error | undefined;
    this.expectations.expectDeletions(key, pods.map(podKey));
    await Promise.all(
      pods.map(async (pod) => {
        const ns = pod.metadata!.namespace;
        const name = pod.metadata!.name!;
        try {
          if (hasTrackingFinalizer(pod)) await this.podClient.patch(ns, name, removeFinalizerPatch(), 'strategic');
          await this.podClient.delete(ns, name);
          this.recorder.event(job, 'Normal', 'SuccessfulDelete', 'Delete', `Deleted pod: ${name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, podKey(pod));
          if (!isNotFound(e)) {
            error ??= e as Error;
            this.recorder.event(job, 'Warning', 'FailedDelete', 'Delete', `Error deleting: ${(e as Error).message}`);
            return;
          }
        }
        deleted++;
        if (isPodReady(pod)) deletedReady++;
      }),
    );
    return { deleted, deletedReady, error };
  }

  /** Creates or deletes pods towards the wanted number of active pods; returns the new active count. */
  private async manageJob(key: string, job: KObject, c: SyncCtx, now: number): Promise<number> {
    let active = c.activePods.length;
    const parallelism = job.spec?.parallelism ?? 1;
    const fail = (e: Error | undefined, activeNow: number): number => {
      if (!e) return activeNow;
      throw Object.assign(e, { active: activeNow });
    };

    if (isSuspended(job)) {
      const victims = activePodsForRemoval(job, c.activePods, active);
      const r = await this.deleteJobPods(key, job, victims);
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      return fail(r.error, active - r.deleted);
    }

    let wantActive: number;
    const completions = job.spec?.completions;
    if (completions == null) wantActive = c.succeeded > 0 ? active : parallelism;
    else wantActive = Math.max(0, Math.min(completions - c.succeeded, parallelism));

    let victims = activePodsForRemoval(job, c.activePods, Math.max(0, active - wantActive));
    if (victims.length > MAX_POD_CREATE_DELETE_PER_SYNC) victims = victims.slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (victims.length) {
      // Deletion wins over creation within one sync (e.g. repeated indexes).
      const r = await this.deleteJobPods(key, job, victims);
      c.terminating += r.deleted;
      c.ready -= r.deletedReady;
      return fail(r.error, active - r.deleted);
    }

    const terminating = onlyReplaceFailedPods(job) ? c.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return active;
    const wait = remainingBackoff(c.newBackoff, now, this.backoffBaseMs, this.backoffMaxMs);
    if (wait > 0) {
      this.queue.addAfter(key, wait);
      return active;
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: number[] = [];
    if (isIndexed(job)) {
      const busy = new Set<number>();
      const holders = onlyReplaceFailedPods(job) ? [...c.activePods, ...c.pods.filter(isTerminating)] : c.activePods;
      for (const p of holders) busy.add(completionIndex(p));
      indexes = firstPendingIndexes(c.succeededIndexes, busy, diff, completions ?? 0);
      diff = indexes.length;
      if (!diff) return active;
    }

    const template = structuredClone(job.spec?.template ?? {});
    if (isIndexed(job)) addCompletionIndexEnv(template);
    const tm = (template.metadata ??= {});
    tm.finalizers = [...(tm.finalizers ?? [])];
    if (!tm.finalizers.includes(JOB_TRACKING_FINALIZER)) tm.finalizers.push(JOB_TRACKING_FINALIZER);

    this.expectations.expectCreations(key, diff);
    active += diff;
    let error: Error | undefined;
    // Slow start: 1, 2, 4, ... creations per batch, stopping after a batch with a failure.
    let remaining = diff;
    for (let batch = Math.min(remaining, 1); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      const batchIndexes = indexes.splice(0, batch);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, (_, i) => this.createPod(job, template, isIndexed(job) ? batchIndexes[i] : -1)),
      );
      let failed = 0;
      for (const r of results) {
        if (r.status === 'rejected') {
          failed++;
          error ??= r.reason as Error;
        }
      }
      for (let i = 0; i < failed; i++) this.expectations.creationObserved(key);
      active -= failed;
      remaining -= batch;
      if (failed && remaining > 0) {
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        active -= remaining;
        break;
      }
    }
    return fail(error, active);
  }

  private async createPod(job: KObject, template: any, index: number): Promise<void> {
    const name = job.metadata!.name!;
    const meta = template.metadata ?? {};
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${name}-`,
        namespace: job.metadata!.namespace,
        ownerReferences: [newControllerRef(job, 'batch/v1', 'Job')],
        finalizers: [...meta.finalizers],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    const labels: Record<string, string> = { ...(meta.labels ?? {}) };
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    if (index >= 0) {
      annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
      labels[JOB_COMPLETION_INDEX_LABEL] = String(index);
      pod.spec.hostname = `${name}-${index}`;
      pod.metadata!.generateName = indexedGenerateName(name, index);
    }
    if (Object.keys(labels).length) pod.metadata!.labels = labels;
    if (Object.keys(annotations).length) pod.metadata!.annotations = annotations;
    try {
      const created = await this.podClient.create(job.metadata!.namespace, pod);
      this.recorder.event(job, 'Normal', 'SuccessfulCreate', 'Create', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      const msg = (e as Error).message ?? '';
      // A terminating namespace refuses new pods: nothing to do until it is gone.
      if (/namespace .* is being terminated|NamespaceTerminating/.test(msg)) return;
      this.recorder.event(job, 'Warning', 'FailedCreate', 'Create', `Error creating: ${msg}`);
      throw e;
    }
  }

  /**
   * 1. Adds newly finished pods to status.uncountedTerminatedPods (and the interim
   *    SuccessCriteriaMet/FailureTarget condition) and writes the status;
   * 2. removes their finalizers;
   * 3. moves the un-finalized ones into the counters and, when nothing is left uncounted or
   *    terminating, adds the terminal condition.
   */
  private async trackStatusAndRemoveFinalizers(key: string, c: SyncCtx, needsFlush: boolean): Promise<void> {
    const job = c.job;
    const status = job.status;
    const uncounted = status.uncountedTerminatedPods;
    uncounted.succeeded = [...(uncounted.succeeded ?? [])];
    uncounted.failed = [...(uncounted.failed ?? [])];
    const indexed = isIndexed(job);
    const completions = job.spec?.completions ?? 0;
    if (indexed) c.pods = [...c.pods].sort((a, b) => completionIndex(a) - completionIndex(b));

    const withFinalizer = new Set<string>();
    for (const p of c.pods) if (hasTrackingFinalizer(p) && !c.expectedRmFinalizers.has(p.metadata!.uid!)) withFinalizer.add(p.metadata!.uid!);
    if (cleanUncounted(status, withFinalizer)) needsFlush = true;

    const toRemove: KObject[] = [];
    const newIndexes: number[] = [];
    let reachedMax = false;
    const failureFinish = c.finishedCondition != null && c.finishedCondition.type !== 'SuccessCriteriaMet';
    for (const pod of c.pods) {
      const uid = pod.metadata!.uid!;
      if (!hasTrackingFinalizer(pod) || c.expectedRmFinalizers.has(uid)) continue;
      const failed = isPodFailed(pod, job);
      // Running pods keep their finalizer unless the whole Job is done or going away.
      if (!(job.metadata?.deletionTimestamp || c.finishedCondition || pod.status?.phase === 'Succeeded' || failed)) continue;
      toRemove.push(pod);
      if (pod.status?.phase === 'Succeeded' && !c.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndex(pod);
          if (ix >= 0 && ix < completions && !hasIndex(c.prevSucceededIndexes, ix)) {
            newIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!c.uncountedSucceeded.has(uid)) {
          uncounted.succeeded.push(uid);
          needsFlush = true;
        }
      } else if (failed || failureFinish) {
        // Once the Job is failing, every pod that did not succeed counts as failed.
        const ix = completionIndex(pod);
        if (!c.uncountedFailed.has(uid) && (!indexed || (ix >= 0 && ix < completions))) {
          if (!job.spec?.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy, pod).countFailed) {
            uncounted.failed.push(uid);
            needsFlush = true;
          }
        }
      }
      if (newIndexes.length + uncounted.succeeded.length + uncounted.failed.length >= MAX_UNCOUNTED_PODS) {
        // Bound the status size and this sync's work; the status update brings us back.
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      c.succeededIndexes = addIndexes(c.succeededIndexes, newIndexes);
      const s = formatIndexes(c.succeededIndexes);
      if (s !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = totalIndexes(c.succeededIndexes);
      status.completedIndexes = s;
    }
    const now = this.now();
    if (c.finishedCondition?.type === 'FailureTarget') {
      status.conditions = [...(status.conditions ?? []), c.finishedCondition];
      needsFlush = true;
      c.finishedCondition = newCondition('Failed', 'True', c.finishedCondition.reason ?? '', c.finishedCondition.message ?? '', now);
    }
    if (c.finishedCondition?.type === 'SuccessCriteriaMet') {
      if (findCondition(job, 'SuccessCriteriaMet')?.status !== 'True') {
        status.conditions = [...(status.conditions ?? []), c.finishedCondition];
        needsFlush = true;
      }
      c.finishedCondition = newCondition('Complete', 'True', c.finishedCondition.reason ?? '', c.finishedCondition.message ?? '', now);
    }

    // 1. Record the uncounted pods before their finalizers go.
    let current = job;
    if (needsFlush) {
      current = await this.writeStatus(current);
      this.backoff.update(key, c.newBackoff);
      needsFlush = false;
    }
    // 2. Remove finalizers.
    let rmError: Error | undefined;
    if (toRemove.length) {
      const expected = this.finalizerExpectations.get(key) ?? new Set<string>();
      this.finalizerExpectations.set(key, expected);
      for (const p of toRemove) expected.add(p.metadata!.uid!);
      await Promise.all(
        toRemove.map(async (p) => {
          try {
            await this.podClient.patch(p.metadata!.namespace, p.metadata!.name!, removeFinalizerPatch(), 'strategic');
            withFinalizer.delete(p.metadata!.uid!);
          } catch (e) {
            expected.delete(p.metadata!.uid!);
            if (isNotFound(e)) withFinalizer.delete(p.metadata!.uid!);
            else rmError ??= e as Error;
          }
        }),
      );
    }
    // 3. Count what lost its finalizer.
    if (cleanUncounted(current.status, withFinalizer)) needsFlush = true;
    if (rmError) {
      if (needsFlush) await this.writeStatus(current);
      throw rmError;
    }
    const finished = !reachedMax && this.enactFinished(current, c, now);
    if (finished) needsFlush = true;
    if (needsFlush) {
      const written = await this.writeStatus(current);
      if (finished) this.recordFinished(written, c.finishedCondition!);
    }
  }

  /** Adds the terminal condition once nothing is uncounted or terminating; returns whether it did. */
  private enactFinished(job: KObject, c: SyncCtx, now: number): boolean {
    const cond = c.finishedCondition;
    if (!cond) return false;
    const u = job.status.uncountedTerminatedPods ?? {};
    if ((u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) > 0) return false;
    if (c.terminating > 0) return false;
    const conditions: JobCondition[] = (job.status.conditions ??= []);
    ensureCondition(conditions, cond.type, cond.status, cond.reason ?? '', cond.message ?? '', now);
    if (cond.type === 'Complete') job.status.completionTime = findCondition(job, 'Complete')!.lastTransitionTime;
    return true;
  }

  private recordFinished(job: KObject, cond: JobCondition): void {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions != null && (job.status?.succeeded ?? 0) > completions)
        this.recorder.event(job, 'Warning', 'TooManySucceededPods', 'Complete', 'Too many succeeded pods running after completion count reached');
      this.recorder.event(job, 'Normal', 'Completed', 'Complete', 'Job completed');
    } else {
      this.recorder.event(job, 'Warning', cond.reason ?? 'Failed', 'Fail', cond.message ?? '');
    }
  }

  /** PUT status as Go would serialize it; returns the Job as written (new resourceVersion). */
  private async writeStatus(job: KObject): Promise<KObject> {
    const status = wireStatus(job.status);
    const written = await this.jobClient.updateStatus(job.metadata!.namespace, { ...job, status });
    // Keep our working status (with zero counters) for the rest of the sync.
    return { ...written, status: job.status };
  }
}

function removeFinalizerPatch(): unknown {
  return { metadata: { '$deleteFromPrimitiveList/finalizers': [JOB_TRACKING_FINALIZER] } };
}

/** Moves UIDs whose pods no longer carry the finalizer from uncountedTerminatedPods into the counters. */
function cleanUncounted(status: any, withFinalizer: Set<string>): boolean {
  const u = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  for (const [field, counter] of [
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
  ] as const) {
    const list: string[] = u[field] ?? [];
    const keep = list.filter((uid) => withFinalizer.has(uid));
    if (keep.length !== list.length) {
      changed = true;
      status[counter] = (status[counter] ?? 0) + (list.length - keep.length);
      u[field] = keep;
    }
  }
  return changed;
}

/** JobStatus the way Go encodes it: omitempty counters and strings dropped, uncounted lists only when non-empty. */
function wireStatus(s: any): any {
  const out: any = { ...s };
  for (const k of ['active', 'succeeded', 'failed']) if (!out[k]) delete out[k];
  if (!out.completedIndexes) delete out.completedIndexes;
  if (!out.conditions?.length) delete out.conditions;
  const u = out.uncountedTerminatedPods ?? {};
  const uw: any = {};
  if (u.succeeded?.length) uw.succeeded = u.succeeded;
  if (u.failed?.length) uw.failed = u.failed;
  out.uncountedTerminatedPods = uw;
  return out;
}

/** OnFailure pods restart in place: their restarts count against backoffLimit. */
function pastBackoffLimitOnFailure(job: KObject, pods: KObject[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += s?.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/**
 * Pods to delete: for Indexed Jobs first those with a bad or repeated index (keeping the best
 * pod of each index), then the most deletable until at least rmAtLeast are picked.
 */
function activePodsForRemoval(job: KObject, pods: KObject[], rmAtLeast: number): KObject[] {
  const rm: KObject[] = [];
  let left: KObject[] = pods;
  if (isIndexed(job)) {
    const completions = job.spec?.completions ?? 0;
    const byIndex = new Map<number, KObject[]>();
    left = [];
    for (const p of pods) {
      const ix = completionIndex(p);
      if (ix < 0 || ix >= completions) {
        rm.push(p);
        continue;
      }
      let g = byIndex.get(ix);
      if (!g) byIndex.set(ix, (g = []));
      g.push(p);
    }
    for (const ix of [...byIndex.keys()].sort((a, b) => a - b)) {
      const g = byIndex.get(ix)!.sort(compareForDeletion);
      rm.push(...g.slice(0, -1));
      left.push(g[g.length - 1]);
    }
  }
  if (rm.length < rmAtLeast) rm.push(...[...left].sort(compareForDeletion).slice(0, rmAtLeast - rm.length));
  return rm;
}

/** Every container learns its index from the pod's annotation through the downward API. */
function addCompletionIndexEnv(template: any): void {
  const spec = (template.spec ??= {});
  for (const list of [spec.initContainers, spec.containers]) {
    for (const c of list ?? []) {
      c.env ??= [];
      if (c.env.some((e: any) => e?.name === JOB_COMPLETION_INDEX_ENV)) continue;
      c.env.push({ name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX_ANNOTATION}']` } } });
    }
  }
}

/** spec.successPolicy (Indexed Jobs): the message of the first rule met, if any. */
function matchSuccessPolicy(policy: any, completions: number, succeeded: Intervals): string | undefined {
  const rules: any[] = policy?.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule?.succeededIndexes != null) {
      const wanted = parseIndexes(rule.succeededIndexes, completions);
      let matched = 0;
      for (const [a, b] of wanted) for (let ix = a; ix <= b; ix++) if (hasIndex(succeeded, ix)) matched++;
      const need = rule.succeededCount ?? totalIndexes(wanted);
      if (matched >= need) return `Matched rules at index ${i}`;
    } else if (rule?.succeededCount != null && totalIndexes(succeeded) >= rule.succeededCount) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}

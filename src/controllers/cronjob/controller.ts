// The CronJob controller (upstream pkg/controller/cronjob, the "v2" controller): creates a Job
// named "<cronjob>-<minutes since epoch>" for each due start time, honouring concurrencyPolicy,
// startingDeadlineSeconds and suspend, keeps status.active / lastScheduleTime /
// lastSuccessfulTime, prunes finished Jobs beyond the history limits, and requeues each
// CronJob exactly for its next start time (no polling).
import type { KObject } from '../../api/types.js';
import { isValidTimeZone } from '../../api/batch/cron.js';
import {
  GVR,
  WorkQueue,
  isAlreadyExists,
  isNotFound,
  objectKey,
  rfc3339,
  type EventRecorder,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { getControllerOf, newControllerRef } from '../common/controller-ref.js';
import { runQueueWorkers } from '../common/run.js';
import { writeStatus } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';
import { finishedConditionType, isJobFinished, isJobSucceeded } from '../job/util.js';
import {
  MANY_MISSED,
  formatInZone,
  formatRFC1123Z,
  jobNameFor,
  mostRecentScheduleTime,
  nextScheduleDelay,
  parseSchedule,
  type Schedule,
} from './schedule.js';

export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export interface CronJobControllerOptions {
  /** Clock (ms since epoch); tests inject a fake one. */
  now?: () => number;
}

interface JobRef {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  apiVersion: string;
  resourceVersion?: string;
}

interface SyncResult {
  requeueAfterMs?: number;
  updateStatus: boolean;
}

const inActiveList = (cj: KObject, uid: string | undefined) => (cj.status?.active ?? []).some((r: JobRef) => r.uid === uid);
const removeFromActive = (cj: KObject, uid: string | undefined) => {
  cj.status.active = (cj.status.active ?? []).filter((r: JobRef) => r.uid !== uid);
};

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private readonly queue = new WorkQueue<string>();
  private readonly now: () => number;
  private cronJobs!: SharedInformer;
  private jobs!: SharedInformer;
  private cronJobClient!: ResourceClient;
  private jobClient!: ResourceClient;
  private recorder!: EventRecorder;

  constructor(opts: CronJobControllerOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.cronJobs = ctx.informers.informer(GVR.cronJobs);
    this.jobs = ctx.informers.informer(GVR.jobs);
    this.cronJobClient = ctx.client.cronJobs;
    this.jobClient = ctx.client.jobs;
    this.recorder = ctx.recorder('cronjob-controller');
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.queue.add(objectKey(cj)),
      onUpdate: (old, cj) => this.cronJobUpdated(old, cj),
    });
    this.jobs.addEventHandler({
      onAdd: (job) => this.enqueueOwner(job),
      onUpdate: (old, job) => {
        if (old.metadata?.resourceVersion === job.metadata?.resourceVersion) return;
        if (getControllerOf(old)?.uid !== getControllerOf(job)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(job);
      },
      onDelete: (job) => this.enqueueOwner(job),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private cronJobUpdated(old: KObject, cj: KObject): void {
    const key = objectKey(cj);
    // A new schedule may bring the next start time forward: queue for it. (A later one is
    // harmless: the sync queued for the old time finds nothing to do and requeues.)
    if (old.spec?.schedule !== cj.spec?.schedule || (old.spec?.timeZone ?? null) !== (cj.spec?.timeZone ?? null)) {
      let s: Schedule;
      try {
        s = parseSchedule(cj);
      } catch {
        return this.queue.add(key);
      }
      const delay = nextScheduleDelay(cj, this.now(), s);
      if (delay !== undefined) this.queue.addAfter(key, delay);
      return;
    }
    this.queue.add(key);
  }

  private enqueueOwner(job: KObject): void {
    const ref = getControllerOf(job);
    if (!ref || ref.kind !== 'CronJob') return;
    const cj = this.cronJobs.get(job.metadata?.namespace, ref.name);
    if (cj && cj.metadata?.uid === ref.uid) this.queue.add(objectKey(cj));
  }

  async sync(key: string): Promise<void> {
    const shared = this.cronJobs.store.get(key);
    if (!shared) return;
    const cj: KObject = { ...shared, status: structuredClone(shared.status ?? {}) };
    const ns = cj.metadata!.namespace!;
    // Upstream matches the Jobs a CronJob controls by the controllerRef's name.
    const jobs = this.jobs.list(ns).filter((j) => {
      const ref = getControllerOf(j);
      return ref?.kind === 'CronJob' && ref.name === cj.metadata!.name;
    });
    let result: SyncResult;
    let syncErr: Error | undefined;
    try {
      result = await this.syncCronJob(cj, jobs);
    } catch (e) {
      syncErr = e as Error;
      result = { updateStatus: (e as any).updateStatus ?? false };
    }
    if (!cj.metadata?.deletionTimestamp && (await this.cleanupFinishedJobs(cj, jobs))) result.updateStatus = true;
    if (result.updateStatus) {
      const status = { ...cj.status };
      if (!status.active?.length) delete status.active;
      try {
        await writeStatus(this.cronJobClient, cj, status);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (syncErr) throw syncErr;
    if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
  }

  private async syncCronJob(cj: KObject, jobs: KObject[]): Promise<SyncResult> {
    const ns = cj.metadata!.namespace!;
    const name = cj.metadata!.name!;
    let updateStatus = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata!.uid!;
      children.add(uid);
      const found = inActiveList(cj, uid);
      if (!found && !isJobFinished(j)) {
        // Perhaps our cache of the CronJob predates the status that lists this Job.
        const fresh = await this.cronJobClient.get(ns, name).catch(() => undefined);
        if (fresh && fresh.metadata?.uid === cj.metadata?.uid && inActiveList(fresh, uid)) {
          cj.metadata = fresh.metadata;
          cj.status = structuredClone(fresh.status ?? {});
          continue;
        }
        this.recorder.event(cj, 'Warning', 'UnexpectedJob', 'Sync', `Saw a job that the controller did not create or forgot: ${j.metadata!.name}`);
      } else if (found && isJobFinished(j)) {
        removeFromActive(cj, uid);
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', 'Sync', `Saw completed job: ${j.metadata!.name}, condition: ${finishedConditionType(j)}`);
        updateStatus = true;
      }
      if (isJobSucceeded(j)) {
        const done = j.status?.completionTime;
        const last = cj.status.lastSuccessfulTime;
        if (done && (!last || Date.parse(done) > Date.parse(last))) {
          cj.status.lastSuccessfulTime = done;
          updateStatus = true;
        }
      }
    }

    // Active Jobs that are neither in the cache nor on the server went missing.
    for (const ref of [...(cj.status.active ?? [])] as JobRef[]) {
      if (children.has(ref.uid)) continue;
      try {
        await this.jobClient.get(ref.namespace ?? ns, ref.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.recorder.event(cj, 'Normal', 'MissingJob', 'Sync', `Active job went missing: ${ref.name}`);
        removeFromActive(cj, ref.uid);
        updateStatus = true;
      }
    }

    if (cj.metadata?.deletionTimestamp) return { updateStatus };
    const tz = cj.spec?.timeZone;
    if (tz != null && !isValidTimeZone(tz)) {
      this.recorder.event(cj, 'Warning', 'UnknownTimeZone', 'Sync', `invalid timeZone: "${tz}": unknown time zone ${tz}`);
      return { updateStatus };
    }
    if (cj.spec?.suspend === true) return { updateStatus };

    const schedule = String(cj.spec?.schedule ?? '');
    let s: Schedule;
    try {
      s = parseSchedule(cj);
    } catch (e) {
      this.recorder.event(cj, 'Warning', 'UnparseableSchedule', 'Sync', `unparseable schedule: "${schedule}" : ${(e as Error).message}`);
      return { updateStatus };
    }
    if (schedule.includes('TZ'))
      this.recorder.event(cj, 'Warning', 'UnsupportedSchedule', 'Sync', `CRON_TZ or TZ used in schedule "${schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);

    const now = this.now();
    const next = (): SyncResult => ({ updateStatus, requeueAfterMs: nextScheduleDelay(cj, now, s) });
    let scheduled: number | undefined;
    try {
      const r = mostRecentScheduleTime(cj, now, s, true);
      scheduled = r.mostRecent;
      if (scheduled !== undefined && r.missed > MANY_MISSED)
        this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'Sync', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    } catch (e) {
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', 'Sync', `invalid schedule: ${schedule} : ${(e as Error).message}`);
      return { updateStatus };
    }
    if (scheduled === undefined) return next();

    const deadline = cj.spec?.startingDeadlineSeconds;
    if (deadline != null && scheduled + deadline * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', 'Sync', `Missed scheduled time to start a job: ${formatRFC1123Z(scheduled)}`);
      return next();
    }
    const jobName = jobNameFor(cj, scheduled);
    const lastSchedule = Date.parse(cj.status.lastScheduleTime ?? '');
    if ((cj.status.active ?? []).some((r: JobRef) => r.name === jobName) || lastSchedule === Math.floor(scheduled / 1000) * 1000) return next();

    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (cj.status.active ?? []).length > 0) {
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Sync', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return next();
    }
    if (policy === 'Replace') {
      for (const ref of [...(cj.status.active ?? [])] as JobRef[]) {
        let job: KObject | undefined = this.jobs.get(ref.namespace ?? ns, ref.name);
        if (!job) {
          try {
            job = await this.jobClient.get(ref.namespace ?? ns, ref.name);
          } catch (e) {
            this.recorder.event(cj, 'Warning', 'FailedGet', 'Sync', `Get job: ${(e as Error).message}`);
            throw Object.assign(e as Error, { updateStatus });
          }
        }
        await this.deleteJob(cj, job!, updateStatus);
        updateStatus = true;
      }
    }

    const job = this.jobFromTemplate(cj, jobName, scheduled);
    let created: KObject;
    try {
      created = await this.jobClient.create(ns, job);
    } catch (e) {
      const msg = (e as Error).message ?? '';
      if (/namespace .* is being terminated|NamespaceTerminating/.test(msg)) throw Object.assign(e as Error, { updateStatus });
      if (!isAlreadyExists(e)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', 'Create', `Error creating job: ${msg}`);
        throw Object.assign(e as Error, { updateStatus });
      }
      // Ours from an earlier attempt whose status write was lost: take it as created.
      const existing = await this.jobClient.get(ns, jobName);
      if (getControllerOf(existing)?.uid !== cj.metadata?.uid) throw Object.assign(e as Error, { updateStatus });
      created = existing;
    }
    this.recorder.event(cj, 'Normal', 'SuccessfulCreate', 'Create', `Created job ${created.metadata!.name}`);
    if (!isJobFinished(created) && !inActiveList(cj, created.metadata?.uid)) {
      cj.status.active = [
        ...(cj.status.active ?? []),
        { kind: 'Job', namespace: ns, name: created.metadata!.name!, uid: created.metadata!.uid!, apiVersion: 'batch/v1', resourceVersion: created.metadata!.resourceVersion } satisfies JobRef,
      ];
    }
    cj.status.lastScheduleTime = rfc3339(new Date(scheduled));
    updateStatus = true;
    return { updateStatus, requeueAfterMs: nextScheduleDelay(cj, now, s) };
  }

  private jobFromTemplate(cj: KObject, name: string, scheduled: number): KObject {
    const tmpl = cj.spec?.jobTemplate ?? {};
    const annotations: Record<string, string> = { ...(tmpl.metadata?.annotations ?? {}) };
    annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION] = formatInZone(scheduled, cj.spec?.timeZone ?? undefined);
    const metadata: KObject['metadata'] = {
      name,
      namespace: cj.metadata!.namespace,
      annotations,
      ownerReferences: [newControllerRef(cj, 'batch/v1', 'CronJob')],
    };
    if (tmpl.metadata?.labels) metadata.labels = { ...tmpl.metadata.labels };
    return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: structuredClone(tmpl.spec ?? {}) };
  }

  /** Deletes a Job (Background propagation) and drops it from status.active. */
  private async deleteJob(cj: KObject, job: KObject, updateStatus: boolean): Promise<void> {
    try {
      await this.jobClient.delete(job.metadata!.namespace, job.metadata!.name!, { propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) {
        this.recorder.event(cj, 'Warning', 'FailedDelete', 'Delete', `Deleted job: ${(e as Error).message}`);
        throw Object.assign(e as Error, { updateStatus });
      }
    }
    removeFromActive(cj, job.metadata?.uid);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', 'Delete', `Deleted job ${job.metadata!.name}`);
  }

  /** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
  private async cleanupFinishedJobs(cj: KObject, jobs: KObject[]): Promise<boolean> {
    const okLimit = cj.spec?.successfulJobsHistoryLimit;
    const failLimit = cj.spec?.failedJobsHistoryLimit;
    if (okLimit == null && failLimit == null) return false;
    const succeeded: KObject[] = [];
    const failed: KObject[] = [];
    for (const j of jobs) {
      const t = finishedConditionType(j);
      if (t === 'Complete') succeeded.push(j);
      else if (t === 'Failed') failed.push(j);
    }
    let changed = false;
    for (const [list, limit] of [
      [succeeded, okLimit],
      [failed, failLimit],
    ] as const) {
      if (limit == null || list.length <= limit) continue;
      const oldest = [...list].sort(byStartTime).slice(0, list.length - limit);
      for (const j of oldest) {
        try {
          await this.deleteJob(cj, j, changed);
          changed = true;
        } catch {
          // Reported as an event; the next sync tries again.
        }
      }
    }
    return changed;
  }
}

/** Oldest start first; Jobs that never started count as newest; ties by name. */
function byStartTime(a: KObject, b: KObject): number {
  const as = a.status?.startTime;
  const bs = b.status?.startTime;
  if (!as && bs) return 1;
  if (as && !bs) return -1;
  const d = (as ? Date.parse(as) : 0) - (bs ? Date.parse(bs) : 0);
  if (d !== 0) return d;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
}

// Job helpers shared by the Job, CronJob and TTL-after-finished controllers: well-known names,
// conditions, and whether/when a Job finished.
import type { KObject } from '../../api/types.js';
import { rfc3339 } from '../../client/index.js';

/** Finalizer the Job controller keeps on its pods until it has counted them. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** spec.managedBy value meaning "this controller" (any other value: someone else's Job). */
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function newCondition(type: string, status: JobCondition['status'], reason: string, message: string, nowMs: number): JobCondition {
  const t = rfc3339(new Date(nowMs));
  const c: JobCondition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export function findCondition(job: KObject, type: string): JobCondition | undefined {
  return (job.status?.conditions ?? []).find((c: JobCondition) => c?.type === type);
}

function conditionTrue(job: KObject, type: string): boolean {
  return findCondition(job, type)?.status === 'True';
}

/** Complete=True or Failed=True (upstream util.IsJobFinished). */
export function isJobFinished(job: KObject): boolean {
  return conditionTrue(job, 'Complete') || conditionTrue(job, 'Failed');
}

export function isJobSucceeded(job: KObject): boolean {
  return conditionTrue(job, 'Complete');
}

/** The finishing condition type ("Complete"/"Failed") or undefined. */
export function finishedConditionType(job: KObject): 'Complete' | 'Failed' | undefined {
  if (conditionTrue(job, 'Complete')) return 'Complete';
  if (conditionTrue(job, 'Failed')) return 'Failed';
  return undefined;
}

/** When the Job finished: lastTransitionTime of its Complete/Failed condition (ms), or undefined. */
export function jobFinishTime(job: KObject): number | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c?.type === 'Complete' || c?.type === 'Failed') && c.status === 'True') {
      const t = Date.parse(c.lastTransitionTime ?? '');
      return isNaN(t) ? undefined : t;
    }
  }
  return undefined;
}

/**
 * Sets (or appends) a condition of type; returns true when the list changed. Like upstream, a
 * missing condition is not added with status False.
 */
export function ensureCondition(conditions: JobCondition[], type: string, status: JobCondition['status'], reason: string, message: string, nowMs: number): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conditions[i];
    if (c.status !== status || (c.reason ?? '') !== reason || (c.message ?? '') !== message) {
      conditions[i] = newCondition(type, status, reason, message, nowMs);
      return true;
    }
    return false;
  }
  if (status === 'False') return false;
  conditions.push(newCondition(type, status, reason, message, nowMs));
  return true;
}

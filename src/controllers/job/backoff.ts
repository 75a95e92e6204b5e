// Delay before replacing failed pods (upstream backoff_utils.go): per Job, the number of pod
// failures since the last success and when the last one happened; the delay starts at a base
// (10 s) and doubles per failure up to a cap. Kept in memory, like upstream.
import type { KObject } from '../../api/types.js';

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  /** ms since epoch, when failuresAfterLastSuccess > 0. */
  lastFailureTime?: number;
}

/** When a finished pod finished: latest container finish, Ready=False transition, deletion, creation. */
export function podFinishedTime(pod: KObject): number {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  let latest: number | undefined;
  let allTerminated = statuses.length > 0;
  for (const s of statuses) {
    const t = Date.parse(s?.state?.terminated?.finishedAt ?? '');
    if (isNaN(t)) {
      allTerminated = false;
      break;
    }
    latest = latest === undefined ? t : Math.max(latest, t);
  }
  if (allTerminated && latest !== undefined) return latest;
  const ready = (pod.status?.conditions ?? []).find((c: any) => c?.type === 'Ready');
  if (ready?.status === 'False') {
    const t = Date.parse(ready.lastTransitionTime ?? '');
    if (!isNaN(t)) return t;
  }
  const del = Date.parse(pod.metadata?.deletionTimestamp ?? '');
  if (!isNaN(del)) return del - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
  const created = Date.parse(pod.metadata?.creationTimestamp ?? '');
  return isNaN(created) ? 0 : created;
}

export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  /** The record after accounting for newly finished pods (not stored until update()). */
  next(key: string, newSucceeded: KObject[], newFailed: KObject[]): BackoffRecord {
    const old = this.records.get(key) ?? { failuresAfterLastSuccess: 0 };
    if (!newFailed.length && !newSucceeded.length) return { ...old };
    const failedTimes = newFailed.map(podFinishedTime).sort((a, b) => a - b);
    if (!newSucceeded.length) {
      return { failuresAfterLastSuccess: old.failuresAfterLastSuccess + failedTimes.length, lastFailureTime: failedTimes[failedTimes.length - 1] };
    }
    const lastSuccess = Math.max(...newSucceeded.map(podFinishedTime));
    const after = failedTimes.filter((t) => t > lastSuccess);
    return after.length ? { failuresAfterLastSuccess: after.length, lastFailureTime: after[after.length - 1] } : { failuresAfterLastSuccess: 0 };
  }

  update(key: string, r: BackoffRecord): void {
    this.records.set(key, r);
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}

/** ms left before a replacement pod may be created (0: now). */
export function remainingBackoff(r: BackoffRecord, nowMs: number, baseMs: number, maxMs: number): number {
  if (r.failuresAfterLastSuccess <= 0 || r.lastFailureTime === undefined) return 0;
  let d = baseMs;
  for (let i = 1; i < r.failuresAfterLastSuccess; i++) {
    d *= 2;
    if (d >= maxMs) {
      d = maxMs;
      break;
    }
  }
  const elapsed = nowMs - r.lastFailureTime;
  return elapsed > d ? 0 : d - elapsed;
}

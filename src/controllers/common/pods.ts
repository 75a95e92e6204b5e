// Pod predicates the workload controllers share: active, ready, available, and the order in
// which a controller picks pods to delete (upstream controller.ActivePods ranking).
import type { KObject } from '../../api/types.js';
import type { SharedInformer } from '../../client/index.js';

/** Pod informer index: the uid of the pod's controller. */
export const POD_CONTROLLER_UID_INDEX = 'controllerUID';

export function ensurePodControllerIndex(pods: SharedInformer): void {
  if (pods.store.hasIndexer(POD_CONTROLLER_UID_INDEX)) return;
  pods.addIndexer(POD_CONTROLLER_UID_INDEX, (p) => p.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid);
}

/** An object reference for events (informer objects may lack apiVersion/kind). */
export function refTo(obj: KObject, apiVersion: string, kind: string) {
  const m = obj.metadata ?? {};
  return { apiVersion, kind, namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
}

export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

function readyCondition(pod: KObject): any {
  return (pod.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
}

export function isPodReady(pod: KObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Ready for at least minReadySeconds at nowMs (upstream podutil.IsPodAvailable). */
export function isPodAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  const c = readyCondition(pod);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(c.lastTransitionTime ?? '');
  return !isNaN(since) && since + minReadySeconds * 1000 <= nowMs;
}

/** Milliseconds until a ready pod becomes available (0 when it already is or never will be by waiting). */
export function msUntilAvailable(pod: KObject, minReadySeconds: number, nowMs: number): number {
  const c = readyCondition(pod);
  if (c?.status !== 'True' || !minReadySeconds) return 0;
  const since = Date.parse(c.lastTransitionTime ?? '');
  if (isNaN(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - nowMs);
}

function restarts(pod: KObject): number {
  let n = 0;
  for (const s of pod.status?.containerStatuses ?? []) n += s.restartCount ?? 0;
  return n;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** controller.kubernetes.io/pod-deletion-cost: lower cost is deleted first. */
function deletionCost(pod: KObject): number {
  const v = Number(pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
  return Number.isInteger(v) ? v : 0;
}

function time(s: string | undefined): number {
  const t = Date.parse(s ?? '');
  return isNaN(t) ? 0 : t;
}

/**
 * Deletion order, most deletable first: unassigned before assigned, Pending < Unknown < Running,
 * not ready before ready, lower pod-deletion-cost first, ready more recently first, more restarts first, newer first.
 */
export function compareForDeletion(a: KObject, b: KObject): number {
  const an = a.spec?.nodeName ? 1 : 0;
  const bn = b.spec?.nodeName ? 1 : 0;
  if (an !== bn) return an - bn;
  const ap = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
  const bp = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
  if (ap !== bp) return ap - bp;
  const ar = isPodReady(a) ? 1 : 0;
  const br = isPodReady(b) ? 1 : 0;
  if (ar !== br) return ar - br;
  const cost = deletionCost(a) - deletionCost(b);
  if (cost !== 0) return cost;
  if (ar && br) {
    const at = time(readyCondition(a)?.lastTransitionTime);
    const bt = time(readyCondition(b)?.lastTransitionTime);
    if (at !== bt) return bt - at; // ready for less time goes first
  }
  const rs = restarts(b) - restarts(a);
  if (rs !== 0) return rs;
  return time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp);
}

export function podKey(pod: KObject): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

// Pure helpers of the Deployment controller (upstream deployment/util/deployment_util.go):
// surge/unavailability arithmetic, ReplicaSet selection and counting, annotations, conditions.
import type { KObject } from '../../api/types.js';
import { semanticEqual } from '../../api/validation.js';
import {
  DEPRECATED_ROLLBACK_TO,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  revisionOf,
} from '../common/revision.js';

// Condition reasons (upstream deployment_util.go).
export const NEW_RS_CREATED = 'NewReplicaSetCreated';
export const FOUND_NEW_RS = 'FoundNewReplicaSet';
export const RS_UPDATED = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE = 'NewReplicaSetAvailable';
export const TIMED_OUT = 'ProgressDeadlineExceeded';
export const PAUSED = 'DeploymentPaused';
export const RESUMED = 'DeploymentResumed';
export const MINIMUM_REPLICAS_AVAILABLE = 'MinimumReplicasAvailable';
export const MINIMUM_REPLICAS_UNAVAILABLE = 'MinimumReplicasUnavailable';
export const FAILED_RS_CREATE = 'ReplicaSetCreateError';

/** progressDeadlineSeconds meaning "no deadline" (math.MaxInt32). */
const NO_DEADLINE = 2147483647;

/** Deployment annotations never copied onto ReplicaSets. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO,
]);

export const replicasOf = (o: KObject | undefined): number => o?.spec?.replicas ?? 0;

// ---- surge and unavailability ----

/** An IntOrString against total: ints as is, "n%" as n% of total rounded up or down. */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+%$/.test(v)) {
    const x = (parseInt(v, 10) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  if (v === undefined || v === null) return 0;
  throw new Error(`invalid value for IntOrString: ${JSON.stringify(v)}`);
}

/** [maxSurge, maxUnavailable]: surge rounds up, unavailable down; both 0 makes unavailable 1. */
export function resolveFenceposts(maxSurge: unknown, maxUnavailable: unknown, desired: number): [number, number] {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

const isRolling = (d: KObject) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

export function maxSurge(d: KObject): number {
  if (!isRolling(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicasOf(d))[0];
}

export function maxUnavailable(d: KObject): number {
  const replicas = replicasOf(d);
  if (!isRolling(d) || replicas === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const u = resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas)[1];
  return Math.min(u, replicas);
}

// ---- ReplicaSets ----

/** Oldest first; ties broken by name (upstream ReplicaSetsByCreationTimestamp). */
export function byCreation(a: KObject, b: KObject): number {
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/** Pod templates equal once the pod-template-hash label is ignored. */
export function equalIgnoreHash(a: any, b: any): boolean {
  const strip = (t: any) => {
    const labels = { ...(t?.metadata?.labels ?? {}) };
    delete labels[POD_TEMPLATE_HASH_LABEL];
    return { ...t, metadata: { ...(t?.metadata ?? {}), labels } };
  };
  return semanticEqual(strip(a), strip(b));
}

/** The oldest ReplicaSet whose template matches the deployment's (several can after a collision). */
export function findNewReplicaSet(d: KObject, rsList: KObject[]): KObject | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export function findOldReplicaSets(newRS: KObject | undefined, rsList: KObject[]): KObject[] {
  return rsList.filter((rs) => rs.metadata?.uid !== newRS?.metadata?.uid);
}

export const activeReplicaSets = (list: KObject[]) => list.filter((rs) => replicasOf(rs) > 0);

export const sumSpecReplicas = (list: (KObject | undefined)[]) => list.reduce((n, rs) => n + (rs ? replicasOf(rs) : 0), 0);
export const sumStatus = (list: (KObject | undefined)[], field: 'replicas' | 'readyReplicas' | 'availableReplicas') =>
  list.reduce((n, rs) => n + (rs?.status?.[field] ?? 0), 0);

/** The one active ReplicaSet, the newest when none is active, undefined when several are. */
export function findActiveOrLatest(newRS: KObject | undefined, oldRSs: KObject[]): KObject | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const all = newRS ? [newRS, ...oldRSs] : oldRSs;
  const active = activeReplicaSets(all);
  if (active.length === 0) return newRS ?? [...oldRSs].sort(byCreation).at(-1);
  if (active.length === 1) return active[0];
  return undefined;
}

export function desiredReplicasAnnotation(rs: KObject): number | undefined {
  const v = rs.metadata?.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

function maxReplicasAnnotation(rs: KObject): number | undefined {
  const v = rs.metadata?.annotations?.[MAX_REPLICAS_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** The new ReplicaSet has all replicas and they are available (upstream IsSaturated). */
export function isSaturated(d: KObject, rs: KObject | undefined): boolean {
  if (!rs) return false;
  const r = replicasOf(d);
  return desiredReplicasAnnotation(rs) === r && replicasOf(rs) === r && (rs.status?.availableReplicas ?? 0) === r;
}

/** Sets desired-replicas and max-replicas on rs (mutates); true when they changed. */
export function setReplicasAnnotations(rs: KObject, desired: number, max: number): boolean {
  const a = (rs.metadata!.annotations ??= {});
  const d = String(desired);
  const m = String(max);
  if (a[DESIRED_REPLICAS_ANNOTATION] === d && a[MAX_REPLICAS_ANNOTATION] === m) return false;
  a[DESIRED_REPLICAS_ANNOTATION] = d;
  a[MAX_REPLICAS_ANNOTATION] = m;
  return true;
}

/** Copies the deployment's own annotations onto rs (mutates); true when rs changed. */
export function copyDeploymentAnnotations(d: KObject, rs: KObject): boolean {
  let changed = false;
  const a = (rs.metadata!.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * Sets the revision annotation of the new ReplicaSet (mutates): copies the deployment's
 * annotations, moves an older revision number into revision-history. True when rs changed.
 */
export function setNewReplicaSetAnnotations(d: KObject, rs: KObject, newRevision: number, exists: boolean, maxHistoryChars = 2000): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = (rs.metadata!.annotations ??= {});
  const old = a[REVISION_ANNOTATION];
  const oldN = old === undefined ? 0 : Number(old);
  if (old === undefined || oldN < newRevision) {
    a[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
  }
  // A reused template (rollback) keeps the revisions it had before in revision-history.
  if (old !== undefined && oldN < newRevision) {
    const history = a[REVISION_HISTORY_ANNOTATION];
    const next = history ? `${history},${old}` : old;
    let parts = next.split(',');
    while (parts.join(',').length > maxHistoryChars && parts.length > 1) parts = parts.slice(1);
    a[REVISION_HISTORY_ANNOTATION] = parts.join(',');
  }
  if (!exists) changed = setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d)) || changed;
  return changed;
}

/** Sets the deployment's revision annotation (mutates); true when it changed. */
export function setDeploymentRevision(d: KObject, revision: string): boolean {
  const a = (d.metadata!.annotations ??= {});
  if (a[REVISION_ANNOTATION] === revision) return false;
  a[REVISION_ANNOTATION] = revision;
  return true;
}

export { revisionOf };

// ---- new ReplicaSet sizing ----

/** How many replicas the new ReplicaSet may have now (upstream NewRSNewReplicas). */
export function newRSNewReplicas(d: KObject, allRSs: KObject[], newRS: KObject, podCount = 0): number {
  if (!isRolling(d)) return replicasOf(d);
  const surge = maxSurge(d);
  // Pods still around from scaled-down ReplicaSets count too, so replicas+maxSurge holds at every instant.
  const current = Math.max(sumSpecReplicas(allRSs), podCount);
  const maxTotal = replicasOf(d) + surge;
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
  return replicasOf(newRS) + Math.max(0, up);
}

// ---- proportional scaling ----

/** The replicas rs should gain (or lose) of `toAdd` for a deployment scaled while rolling out. */
export function proportion(rs: KObject, d: KObject, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: KObject, d: KObject): number {
  if (replicasOf(d) === 0) return -replicasOf(rs);
  const deploymentMax = replicasOf(d) + maxSurge(d);
  let before = maxReplicasAnnotation(rs) ?? 0;
  // No (or a zero) annotation, e.g. edited by hand: fall back to the deployment's current size.
  if (before === 0) before = d.status?.replicas ?? 0;
  if (before === 0) return 0;
  return Math.round((replicasOf(rs) * deploymentMax) / before) - replicasOf(rs);
}

// ---- conditions ----

export interface DeploymentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export const nowTime = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string): DeploymentCondition {
  const t = nowTime();
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: any, type: string): DeploymentCondition | undefined {
  return (status?.conditions ?? []).find((c: DeploymentCondition) => c.type === type);
}

/** Sets cond in status (mutates): unchanged when status and reason match; keeps the transition time when only the reason changes. */
export function setCondition(status: any, cond: DeploymentCondition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  if (cur && cur.status === cond.status) cond.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c: DeploymentCondition) => c.type !== cond.type), cond];
}

export function removeCondition(status: any, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c: DeploymentCondition) => c.type !== type);
}

export function hasProgressDeadline(d: KObject): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return p != null && p !== NO_DEADLINE;
}

/** Everything updated and available, and the controller has seen the latest spec. */
export function deploymentComplete(d: KObject, s: any): boolean {
  const r = replicasOf(d);
  return (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** The rollout moved since the last status (more updated/ready/available, fewer old pods). */
export function deploymentProgressing(d: KObject, s: any): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
  );
}

export function deploymentTimedOut(d: KObject, s: any, nowMs = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s, 'Progressing');
  if (!cond || cond.reason === NEW_RS_AVAILABLE) return false;
  if (cond.reason === TIMED_OUT) return true;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  return !isNaN(from) && from + d.spec.progressDeadlineSeconds * 1000 < nowMs;
}

// Revision bookkeeping shared by controllers that keep a history of their templates
// (Deployment through ReplicaSet annotations).
import type { KObject } from '../../api/types.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Deprecated rollback request annotation (extensions/v1beta1 rollback). */
export const DEPRECATED_ROLLBACK_TO = 'deprecated.deployment.rollback.to';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** The object's revision annotation as a number (0 when absent or malformed). */
export function revisionOf(obj: KObject | undefined): number {
  const v = obj?.metadata?.annotations?.[REVISION_ANNOTATION];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export function maxRevision(objs: KObject[]): number {
  let max = 0;
  for (const o of objs) max = Math.max(max, revisionOf(o));
  return max;
}

/** The second-highest revision (the one `rollout undo` goes back to). */
export function previousRevision(objs: KObject[]): number {
  let max = 0;
  let second = 0;
  for (const o of objs) {
    const r = revisionOf(o);
    if (r > max) {
      second = max;
      max = r;
    } else if (r > second && r < max) second = r;
  }
  return second;
}

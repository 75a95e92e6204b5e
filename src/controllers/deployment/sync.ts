// One sync of a Deployment (upstream sync.go): claim ReplicaSets, find or create the new one
// with its revision, scale (proportionally while a rollout is in flight), clean up history and
// write status. Rollouts themselves are in rolling.ts and recreate.ts.
import type { KObject } from '../../api/types.js';
import { labelSelectorEmpty } from '../../api/validation.js';
import { isAlreadyExists, isNotFound } from '../../client/index.js';
import { getControllerOf, newControllerRef } from '../common/controller-ref.js';
import { computeHash } from '../common/hash.js';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, maxRevision, revisionOf } from '../common/revision.js';
import { omitZero, sameJson } from '../common/status.js';
import { DEPLOYMENT_API_VERSION, type DeploymentControllerState } from './controller.js';
import { rolloutRecreate } from './recreate.js';
import { rolloutRolling } from './rolling.js';
import {
  FAILED_RS_CREATE,
  FOUND_NEW_RS,
  MINIMUM_REPLICAS_AVAILABLE,
  MINIMUM_REPLICAS_UNAVAILABLE,
  NEW_RS_CREATED,
  PAUSED,
  RESUMED,
  TIMED_OUT,
  activeReplicaSets,
  byCreation,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  hasProgressDeadline,
  isSaturated,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  proportion,
  replicasOf,
  setCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumSpecReplicas,
  sumStatus,
} from './util.js';

type Dc = DeploymentControllerState;

const STATUS_OMITEMPTY = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'];

export async function syncDeployment(dc: Dc, d: KObject): Promise<void> {
  if (labelSelectorEmpty(d.spec?.selector)) {
    dc.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
      d.status = { ...(d.status ?? {}), observedGeneration: d.metadata?.generation };
      await updateDeploymentStatus(dc, d);
    }
    return;
  }
  const rsList = await dc.claimReplicaSets(d);
  if (d.metadata?.deletionTimestamp) return syncStatusOnly(dc, d, rsList);

  await checkPausedConditions(dc, d);
  if (d.spec?.paused) return sync(dc, d, rsList);
  if (await isScalingEvent(dc, d, rsList)) return sync(dc, d, rsList);
  if (d.spec?.strategy?.type === 'Recreate') return rolloutRecreate(dc, d, rsList);
  return rolloutRolling(dc, d, rsList);
}

/** The ReplicaSet matching the template (created when asked) and all the others. */
export async function getAllReplicaSetsAndSyncRevision(
  dc: Dc,
  d: KObject,
  rsList: KObject[],
  createIfMissing: boolean,
): Promise<{ newRS: KObject | undefined; oldRSs: KObject[] }> {
  const oldRSs = findOldReplicaSets(findNewReplicaSet(d, rsList), rsList);
  const newRS = await getNewReplicaSet(dc, d, rsList, oldRSs, createIfMissing);
  return { newRS, oldRSs };
}

async function getNewReplicaSet(dc: Dc, d: KObject, rsList: KObject[], oldRSs: KObject[], create: boolean): Promise<KObject | undefined> {
  const existing = findNewReplicaSet(d, rsList);
  const newRevision = maxRevision(oldRSs) + 1;
  const ns = d.metadata!.namespace!;

  if (existing) {
    const copy = structuredClone(existing);
    const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
    const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (annotationsChanged || minReadyChanged) {
      if (d.spec?.minReadySeconds) copy.spec.minReadySeconds = d.spec.minReadySeconds;
      else delete copy.spec.minReadySeconds;
      // Like upstream, return right away: the deployment's revision follows on the next sync.
      Object.assign(existing, await dc.replicaSets.update(ns, copy));
      return existing;
    }
    let needsUpdate = setDeploymentRevision(d, copy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
      d.status ??= {};
      setCondition(d.status, newCondition('Progressing', 'True', FOUND_NEW_RS, `Found new replica set "${copy.metadata!.name}"`));
      needsUpdate = true;
    }
    if (needsUpdate) await updateDeploymentStatus(dc, d);
    return existing;
  }
  if (!create) return undefined;

  const template = structuredClone(d.spec.template);
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const name = `${d.metadata!.name}-${hash}`;
  const newRS: KObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: ns,
      ownerReferences: [newControllerRef(d, DEPLOYMENT_API_VERSION, 'Deployment')],
      labels: template.metadata.labels,
    },
    spec: { replicas: 0, selector, template },
  };
  if (d.spec?.minReadySeconds) newRS.spec.minReadySeconds = d.spec.minReadySeconds;
  const podCount = countActivePods(dc, oldRSs);
  newRS.spec.replicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS, podCount);
  setNewReplicaSetAnnotations(d, newRS, newRevision, false);

  let created: KObject;
  let alreadyExisted = false;
  try {
    created = await dc.replicaSets.create(ns, newRS);
  } catch (e) {
    if (isAlreadyExists(e)) {
      // Ours already (a stale cache), or a hash collision: bump collisionCount and retry.
      const rs = dc.rsInformer.get(ns, name) ?? (await dc.replicaSets.get(ns, name).catch(() => undefined));
      const ref = rs && getControllerOf(rs);
      if (rs && ref?.uid === d.metadata?.uid && equalIgnoreHash(d.spec.template, rs.spec?.template)) {
        created = structuredClone(rs);
        alreadyExisted = true;
      } else {
        d.status ??= {};
        d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
        await updateDeploymentStatus(dc, d);
        throw new Error(`found a hash collision for deployment "${d.metadata!.name}" - bumping collisionCount to ${d.status.collisionCount} to resolve it`);
      }
    } else {
      if (hasProgressDeadline(d)) {
        d.status ??= {};
        setCondition(d.status, newCondition('Progressing', 'False', FAILED_RS_CREATE, `Failed to create new replica set "${name}": ${(e as Error).message}`));
        await updateDeploymentStatus(dc, d).catch(() => undefined);
      }
      throw e;
    }
  }
  if (!alreadyExisted && replicasOf(created) > 0)
    dc.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} to ${replicasOf(created)} from 0`);
  let needsUpdate = setDeploymentRevision(d, String(newRevision));
  if (!alreadyExisted && hasProgressDeadline(d)) {
    d.status ??= {};
    setCondition(d.status, newCondition('Progressing', 'True', NEW_RS_CREATED, `Created new replica set "${name}"`));
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(dc, d);
  rsList.push(created);
  return created;
}

/** Active pods (cache) of these ReplicaSets. */
export function countActivePods(dc: Dc, rsList: KObject[]): number {
  let n = 0;
  for (const rs of rsList) for (const p of dc.podsOf(rs.metadata!.uid!)) if (!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed') n++;
  return n;
}

/**
 * Writes d.status (and the revision annotation, which upstream's deployments/status accepts) and
 * refreshes d from the response.
 */
export async function updateDeploymentStatus(dc: Dc, d: KObject): Promise<void> {
  const ns = d.metadata!.namespace!;
  const wanted = d.metadata?.annotations?.[REVISION_ANNOTATION];
  let updated = await dc.deployments.updateStatus(ns, d);
  if (wanted !== undefined && updated.metadata?.annotations?.[REVISION_ANNOTATION] !== wanted) {
    // This API server drops metadata changes on /status: set the annotation on the object itself.
    updated = await dc.deployments.patch(ns, d.metadata!.name!, { metadata: { annotations: { [REVISION_ANNOTATION]: wanted } } }, 'merge');
  }
  d.metadata = updated.metadata;
  d.status = updated.status;
}

/** Sets rs.spec.replicas (and the replicas annotations) when they differ; true when the size changed. */
export async function scaleReplicaSet(dc: Dc, rs: KObject, newScale: number, d: KObject, op?: 'up' | 'down'): Promise<boolean> {
  const oldScale = replicasOf(rs);
  const sizeChanged = oldScale !== newScale;
  const copy = structuredClone(rs);
  const annotationsChanged = setReplicasAnnotations(copy, replicasOf(d), replicasOf(d) + maxSurge(d));
  if (!sizeChanged && !annotationsChanged) return false;
  copy.spec.replicas = newScale;
  const updated = await dc.replicaSets.update(rs.metadata!.namespace, copy);
  Object.assign(rs, updated);
  if (sizeChanged) {
    const verb = op ?? (oldScale < newScale ? 'up' : 'down');
    dc.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${verb} replica set ${rs.metadata!.name} to ${newScale} from ${oldScale}`);
  }
  return sizeChanged;
}

export async function scaleReplicaSetAndRecordEvent(dc: Dc, rs: KObject, newScale: number, d: KObject): Promise<boolean> {
  if (replicasOf(rs) === newScale) return false;
  return scaleReplicaSet(dc, rs, newScale, d, replicasOf(rs) < newScale ? 'up' : 'down');
}

/** Scaling (not a rollout): resize the active ReplicaSet, or all of them in proportion. */
async function scale(dc: Dc, d: KObject, newRS: KObject | undefined, oldRSs: KObject[]): Promise<void> {
  const target = findActiveOrLatest(newRS, oldRSs);
  if (target) {
    if (replicasOf(target) !== replicasOf(d)) await scaleReplicaSetAndRecordEvent(dc, target, replicasOf(d), d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of activeReplicaSets(oldRSs)) await scaleReplicaSetAndRecordEvent(dc, old, 0, d);
    return;
  }
  if ((d.spec?.strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
  const all = activeReplicaSets(newRS ? [newRS, ...oldRSs] : oldRSs);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - sumSpecReplicas(all);
  let op: 'up' | 'down' | undefined;
  if (toAdd > 0) {
    // Largest first, newer first among equals.
    all.sort((a, b) => replicasOf(b) - replicasOf(a) || byCreation(b, a));
    op = 'up';
  } else if (toAdd < 0) {
    all.sort((a, b) => replicasOf(b) - replicasOf(a) || byCreation(a, b));
    op = 'down';
  }
  let added = 0;
  const sizes = new Map<KObject, number>();
  for (const rs of all) {
    if (toAdd === 0) {
      sizes.set(rs, replicasOf(rs));
      continue;
    }
    const p = proportion(rs, d, toAdd, added);
    sizes.set(rs, replicasOf(rs) + p);
    added += p;
  }
  for (let i = 0; i < all.length; i++) {
    const rs = all[i];
    let size = sizes.get(rs)!;
    if (i === 0 && toAdd !== 0) size = Math.max(0, size + (toAdd - added));
    await scaleReplicaSet(dc, rs, size, d, op);
  }
}

/** A scaling event: some active ReplicaSet was sized for a different deployment size. */
async function isScalingEvent(dc: Dc, d: KObject, rsList: KObject[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  for (const rs of activeReplicaSets(newRS ? [newRS, ...oldRSs] : oldRSs)) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired !== undefined && desired !== replicasOf(d)) return true;
  }
  return false;
}

/** Paused deployments (and scaling events): scale, keep history bounded, report status. */
async function sync(dc: Dc, d: KObject, rsList: KObject[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await scale(dc, d, newRS, oldRSs);
  if (d.spec?.paused) await cleanupDeployment(dc, oldRSs, d);
  await syncDeploymentStatus(dc, newRS ? [...oldRSs, newRS] : oldRSs, newRS, d);
}

async function syncStatusOnly(dc: Dc, d: KObject, rsList: KObject[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await syncDeploymentStatus(dc, newRS ? [...oldRSs, newRS] : oldRSs, newRS, d);
}

/** Progressing=Unknown DeploymentPaused / DeploymentResumed as spec.paused flips. */
async function checkPausedConditions(dc: Dc, d: KObject): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status, 'Progressing');
  if (cond?.reason === TIMED_OUT) return;
  const pausedCond = cond?.reason === PAUSED;
  d.status ??= {};
  if (d.spec?.paused && !pausedCond) setCondition(d.status, newCondition('Progressing', 'Unknown', PAUSED, 'Deployment is paused'));
  else if (!d.spec?.paused && pausedCond) setCondition(d.status, newCondition('Progressing', 'Unknown', RESUMED, 'Deployment is resumed'));
  else return;
  await updateDeploymentStatus(dc, d);
}

/** Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
export async function cleanupDeployment(dc: Dc, oldRSs: KObject[], d: KObject): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit == null) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - limit;
  if (diff <= 0) return;
  cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (let i = 0; i < diff; i++) {
    const rs = cleanable[i];
    if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await dc.replicaSets.delete(rs.metadata!.namespace, rs.metadata!.name!, { preconditions: { uid: rs.metadata!.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export function calculateStatus(allRSs: KObject[], newRS: KObject | undefined, d: KObject): any {
  const available = sumStatus(allRSs, 'availableReplicas');
  const total = sumSpecReplicas(allRSs);
  const status: any = {
    observedGeneration: d.metadata?.generation,
    replicas: sumStatus(allRSs, 'replicas'),
    updatedReplicas: sumStatus([newRS], 'replicas'),
    readyReplicas: sumStatus(allRSs, 'readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount != null) status.collisionCount = d.status.collisionCount;
  status.conditions = structuredClone(d.status?.conditions ?? []);
  if (available >= replicasOf(d) - maxUnavailable(d))
    setCondition(status, newCondition('Available', 'True', MINIMUM_REPLICAS_AVAILABLE, 'Deployment has minimum availability.'));
  else setCondition(status, newCondition('Available', 'False', MINIMUM_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.'));
  return omitZero(status, STATUS_OMITEMPTY);
}

export async function syncDeploymentStatus(dc: Dc, allRSs: KObject[], newRS: KObject | undefined, d: KObject): Promise<void> {
  const status = calculateStatus(allRSs, newRS, d);
  if (sameJson(d.status ?? {}, status)) return;
  d.status = status;
  await updateDeploymentStatus(dc, d);
}

// RollingUpdate (upstream rolling.go): grow the new ReplicaSet while total pods stay within
// replicas+maxSurge, shrink old ones while available pods stay at or above
// replicas-maxUnavailable. Availability used to shrink is the least of the ReplicaSet status,
// its spec and the live pods in the cache, so a stale status can never let it drop too far.
import type { KObject } from '../../api/types.js';
import { isPodAvailable } from '../common/pods.js';
import type { DeploymentControllerState } from './controller.js';
import { syncRolloutStatus } from './progress.js';
import { cleanupDeployment, countActivePods, getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent } from './sync.js';
import { activeReplicaSets, byCreation, deploymentComplete, maxUnavailable, newRSNewReplicas, replicasOf, sumSpecReplicas } from './util.js';

type Dc = DeploymentControllerState;

export async function rolloutRolling(dc: Dc, d: KObject, rsList: KObject[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true);
  const allRSs = newRS ? [...oldRSs, newRS] : oldRSs;
  if (await reconcileNewReplicaSet(dc, allRSs, newRS!, d)) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (await reconcileOldReplicaSets(dc, allRSs, activeReplicaSets(oldRSs), newRS!, d)) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, newRS, d);
}

async function reconcileNewReplicaSet(dc: Dc, allRSs: KObject[], newRS: KObject, d: KObject): Promise<boolean> {
  if (replicasOf(newRS) === replicasOf(d)) return false;
  if (replicasOf(newRS) > replicasOf(d)) return scaleReplicaSetAndRecordEvent(dc, newRS, replicasOf(d), d);
  const count = newRSNewReplicas(d, allRSs, newRS, countActivePods(dc, allRSs));
  return scaleReplicaSetAndRecordEvent(dc, newRS, count, d);
}

/** Available pods of rs that can be relied on now. */
function availableOf(dc: Dc, rs: KObject): number {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const now = Date.now();
  let live = 0;
  for (const p of dc.podsOf(rs.metadata!.uid!)) if (!p.metadata?.deletionTimestamp && isPodAvailable(p, minReady, now)) live++;
  return Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs), live);
}

/** Available pods of rs at most (used to tell unhealthy pods apart: never overcount them). */
function availableAtMost(dc: Dc, rs: KObject): number {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const now = Date.now();
  let live = 0;
  for (const p of dc.podsOf(rs.metadata!.uid!)) if (!p.metadata?.deletionTimestamp && isPodAvailable(p, minReady, now)) live++;
  return Math.min(replicasOf(rs), Math.max(rs.status?.availableReplicas ?? 0, live));
}

async function reconcileOldReplicaSets(dc: Dc, allRSs: KObject[], oldRSs: KObject[], newRS: KObject, d: KObject): Promise<boolean> {
  if (sumSpecReplicas(oldRSs) === 0) return false;
  const allPods = sumSpecReplicas(allRSs);
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - availableOf(dc, newRS);
  let maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;

  // Unhealthy old pods go first: removing them costs no availability.
  const cleaned = await cleanupUnhealthyReplicas(dc, oldRSs, d, maxScaledDown);
  maxScaledDown -= cleaned;
  const scaledDown = await scaleDownOldReplicaSets(dc, allRSs, oldRSs, d);
  return cleaned + scaledDown > 0;
}

async function cleanupUnhealthyReplicas(dc: Dc, oldRSs: KObject[], d: KObject, maxCleanup: number): Promise<number> {
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= maxCleanup) break;
    if (replicasOf(rs) === 0) continue;
    const unhealthy = replicasOf(rs) - availableAtMost(dc, rs);
    if (unhealthy <= 0) continue;
    const n = Math.min(maxCleanup - total, unhealthy);
    await scaleReplicaSetAndRecordEvent(dc, rs, replicasOf(rs) - n, d);
    total += n;
  }
  return total;
}

async function scaleDownOldReplicaSets(dc: Dc, allRSs: KObject[], oldRSs: KObject[], d: KObject): Promise<number> {
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  let available = 0;
  for (const rs of allRSs) available += availableOf(dc, rs);
  if (available <= minAvailable) return 0;
  const target = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= target) break;
    if (replicasOf(rs) === 0) continue;
    const n = Math.min(replicasOf(rs), target - total);
    await scaleReplicaSetAndRecordEvent(dc, rs, replicasOf(rs) - n, d);
    total += n;
  }
  return total;
}

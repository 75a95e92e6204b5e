// Recreate (upstream recreate.go): scale every old ReplicaSet to zero, wait until none of their
// pods is left running, then create/scale the new ReplicaSet to full size.
import type { KObject } from '../../api/types.js';
import type { DeploymentControllerState } from './controller.js';
import { syncRolloutStatus } from './progress.js';
import { cleanupDeployment, getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent } from './sync.js';
import { activeReplicaSets, deploymentComplete, replicasOf, sumStatus } from './util.js';

type Dc = DeploymentControllerState;

export async function rolloutRecreate(dc: Dc, d: KObject, rsList: KObject[]): Promise<void> {
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  let allRSs = newRS ? [...oldRSs, newRS] : oldRSs;

  let scaledDown = false;
  for (const rs of activeReplicaSets(oldRSs)) if (await scaleReplicaSetAndRecordEvent(dc, rs, 0, d)) scaledDown = true;
  if (scaledDown) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (oldPodsRunning(dc, newRS, oldRSs)) return syncRolloutStatus(dc, allRSs, newRS, d);

  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true));
    allRSs = newRS ? [...oldRSs, newRS] : oldRSs;
  }
  if (newRS) await scaleReplicaSetAndRecordEvent(dc, newRS, replicasOf(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, newRS, d);
}

/** Any old ReplicaSet still reports pods, or the cache still holds a non-terminal pod of one. */
function oldPodsRunning(dc: Dc, newRS: KObject | undefined, oldRSs: KObject[]): boolean {
  if (sumStatus(oldRSs, 'replicas') > 0) return true;
  for (const rs of oldRSs) {
    if (rs.metadata?.uid === newRS?.metadata?.uid) continue;
    for (const p of dc.podsOf(rs.metadata!.uid!)) {
      const phase = p.status?.phase;
      if (phase !== 'Failed' && phase !== 'Succeeded') return true;
    }
  }
  return false;
}

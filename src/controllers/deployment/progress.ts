// Rollout status and the Progressing condition (upstream progress.go): NewReplicaSetAvailable
// once complete, ReplicaSetUpdated while pods move, ProgressDeadlineExceeded when nothing moved
// for progressDeadlineSeconds; a stuck deployment is requeued for when its deadline passes.
import type { KObject } from '../../api/types.js';
import { sameJson } from '../common/status.js';
import type { DeploymentControllerState } from './controller.js';
import { calculateStatus, updateDeploymentStatus } from './sync.js';
import {
  NEW_RS_AVAILABLE,
  RS_UPDATED,
  TIMED_OUT,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  getCondition,
  hasProgressDeadline,
  newCondition,
  removeCondition,
  setCondition,
} from './util.js';

export async function syncRolloutStatus(dc: DeploymentControllerState, allRSs: KObject[], newRS: KObject | undefined, d: KObject): Promise<void> {
  const status = calculateStatus(allRSs, newRS, d);
  if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
  const current = getCondition(status, 'Progressing');
  const complete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE;
  if (hasProgressDeadline(d) && !complete) {
    const name = d.metadata!.name;
    const subject = newRS ? `ReplicaSet "${newRS.metadata!.name}"` : `Deployment "${name}"`;
    if (deploymentComplete(d, status)) {
      setCondition(status, newCondition('Progressing', 'True', NEW_RS_AVAILABLE, `${subject} has successfully progressed.`));
    } else if (deploymentProgressing(d, status)) {
      // Progress refreshes lastUpdateTime, which is what the deadline is measured from.
      const cond = newCondition('Progressing', 'True', RS_UPDATED, `${subject} is progressing.`);
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(status, 'Progressing');
      }
      setCondition(status, cond);
    } else if (deploymentTimedOut(d, status)) {
      setCondition(status, newCondition('Progressing', 'False', TIMED_OUT, `${subject} has timed out progressing.`));
    }
  }
  // ReplicaSet failures (quota, admission) surface as the deployment's ReplicaFailure condition.
  const failure = allRSs.map((rs) => getCondition(rs.status, 'ReplicaFailure')).find((c) => c?.status === 'True');
  if (failure) setCondition(status, { ...failure, type: 'ReplicaFailure', lastUpdateTime: failure.lastTransitionTime });
  else removeCondition(status, 'ReplicaFailure');

  if (sameJson(d.status ?? {}, status)) {
    requeueStuckDeployment(dc, d, status);
    return;
  }
  d.status = status;
  await updateDeploymentStatus(dc, d);
}

/** Looks at d again when its progress deadline would pass (no-op when done or no deadline). */
function requeueStuckDeployment(dc: DeploymentControllerState, d: KObject, status: any): void {
  const cond = getCondition(status, 'Progressing');
  if (!hasProgressDeadline(d) || !cond) return;
  if (deploymentComplete(d, status) || cond.reason === TIMED_OUT) return;
  const after = Date.parse(cond.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds * 1000 - Date.now();
  if (isNaN(after)) return;
  if (after < 1000) dc.enqueueRateLimited(d);
  else dc.enqueueAfter(d, after);
}

// The ReplicationController controller (upstream pkg/controller/replication): the ReplicaSet
// controller run over core/v1 ReplicationControllers, whose selector is a plain label map.
import type { GroupVersionResource } from '../../client/index.js';
import { mapSelectorMatches } from '../../api/core/replicationcontroller.js';
import { ReplicaSetController, type ReplicaSetKind } from '../replicaset/controller.js';

export const REPLICATION_CONTROLLERS: GroupVersionResource = {
  group: '',
  version: 'v1',
  plural: 'replicationcontrollers',
  kind: 'ReplicationController',
  namespaced: true,
};

export const REPLICATIONCONTROLLER_KIND: ReplicaSetKind = {
  name: 'replicationcontroller',
  component: 'replication-controller',
  gvr: REPLICATION_CONTROLLERS,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  selects: (rc, labels) => mapSelectorMatches(rc.spec?.selector, labels),
};

export function newReplicationControllerController(): ReplicaSetController {
  return new ReplicaSetController(REPLICATIONCONTROLLER_KIND);
}

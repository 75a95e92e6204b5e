// The in-tree plugin registry (name → factory) and upstream's default plugin set with its score
// weights (apis/config/v1/default_plugins.go, v1.32 order). Plugins skiff does not implement
// (VolumeRestrictions, NodeVolumeLimits, VolumeZone) are left out of the defaults.
import type { PluginRef, Registry } from '../framework/runtime.js';
import type { FrameworkHandle } from '../framework/runtime.js';
import { Status, type PluginFactory } from '../framework/types.js';
import { DEFAULT_PREEMPTION, newDefaultPreemption } from './default-preemption.js';
import { IMAGE_LOCALITY, newImageLocality } from './image-locality.js';
import { INTER_POD_AFFINITY, newInterPodAffinity } from './inter-pod-affinity.js';
import { NODE_AFFINITY, newNodeAffinity } from './node-affinity.js';
import { NODE_NAME, newNodeName } from './node-name.js';
import { NODE_PORTS, newNodePorts } from './node-ports.js';
import { NODE_RESOURCES_BALANCED_ALLOCATION, newNodeResourcesBalancedAllocation } from './node-resources-balanced-allocation.js';
import { NODE_RESOURCES_FIT, newNodeResourcesFit } from './node-resources-fit.js';
import { NODE_UNSCHEDULABLE, newNodeUnschedulable } from './node-unschedulable.js';
import { POD_TOPOLOGY_SPREAD, newPodTopologySpread } from './pod-topology-spread.js';
import { TAINT_TOLERATION, newTaintToleration } from './taint-toleration.js';
import { VOLUME_BINDING, newVolumeBinding } from './volume-binding.js';

/** Handled by the scheduling queue itself (gated pods are parked there). */
export const SCHEDULING_GATES = 'SchedulingGates';
/** The queue's priority-then-timestamp order is built in. */
export const PRIORITY_SORT = 'PrioritySort';
export const DEFAULT_BINDER = 'DefaultBinder';

const newSchedulingGates: PluginFactory = () => ({ name: SCHEDULING_GATES });
const newPrioritySort: PluginFactory = () => ({ name: PRIORITY_SORT });

/** Binds with POST pods/<name>/binding through the scheduler's client. */
export const newDefaultBinder: PluginFactory = (_args, handle) => {
  const h = handle as FrameworkHandle;
  return {
    name: DEFAULT_BINDER,
    async bind(_state, pod, nodeName) {
      if (!h.bindPod) return Status.error('DefaultBinder: the framework handle has no bindPod');
      try {
        await h.bindPod(pod, nodeName);
        return Status.success();
      } catch (e) {
        return Status.error((e as Error).message);
      }
    },
  };
};

/** A fresh registry of the in-tree plugins. */
export function inTreeRegistry(): Registry {
  return new Map<string, PluginFactory>([
    [SCHEDULING_GATES, newSchedulingGates],
    [PRIORITY_SORT, newPrioritySort],
    [NODE_UNSCHEDULABLE, newNodeUnschedulable],
    [NODE_NAME, newNodeName],
    [TAINT_TOLERATION, newTaintToleration],
    [NODE_AFFINITY, newNodeAffinity],
    [NODE_PORTS, newNodePorts],
    [NODE_RESOURCES_FIT, newNodeResourcesFit],
    [VOLUME_BINDING, newVolumeBinding],
    [POD_TOPOLOGY_SPREAD, newPodTopologySpread],
    [INTER_POD_AFFINITY, newInterPodAffinity],
    [DEFAULT_PREEMPTION, newDefaultPreemption],
    [NODE_RESOURCES_BALANCED_ALLOCATION, newNodeResourcesBalancedAllocation],
    [IMAGE_LOCALITY, newImageLocality],
    [DEFAULT_BINDER, newDefaultBinder],
  ]);
}

/** upstream getDefaultPlugins().MultiPoint, in order, with score weights. */
export const DEFAULT_PLUGINS: readonly PluginRef[] = [
  { name: SCHEDULING_GATES },
  { name: PRIORITY_SORT },
  { name: NODE_UNSCHEDULABLE },
  { name: NODE_NAME },
  { name: TAINT_TOLERATION, weight: 3 },
  { name: NODE_AFFINITY, weight: 2 },
  { name: NODE_PORTS },
  { name: NODE_RESOURCES_FIT, weight: 1 },
  { name: VOLUME_BINDING },
  { name: POD_TOPOLOGY_SPREAD, weight: 2 },
  { name: INTER_POD_AFFINITY, weight: 2 },
  { name: DEFAULT_PREEMPTION },
  { name: NODE_RESOURCES_BALANCED_ALLOCATION, weight: 1 },
  { name: IMAGE_LOCALITY, weight: 1 },
  { name: DEFAULT_BINDER },
];

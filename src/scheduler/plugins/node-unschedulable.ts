// NodeUnschedulable (upstream plugins/nodeunschedulable): cordoned nodes (spec.unschedulable) take
// only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule.
import { Status, type Plugin, type PluginFactory } from '../framework/types.js';
import { TAINT_EFFECT_NO_SCHEDULE, tolerationsTolerateTaint } from './helpers/taints.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const NODE_UNSCHEDULABLE_ERR_REASON = 'node(s) were unschedulable';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export const newNodeUnschedulable: PluginFactory = () => {
  const unschedulableTaint = { key: TAINT_NODE_UNSCHEDULABLE, effect: TAINT_EFFECT_NO_SCHEDULE };
  const plugin: Plugin = {
    name: NODE_UNSCHEDULABLE,
    filter(_state, pod, node) {
      if (!node.node.spec?.unschedulable) return Status.success();
      // A pod that tolerates the unschedulable taint also tolerates spec.unschedulable.
      if (tolerationsTolerateTaint(pod.spec?.tolerations, unschedulableTaint)) return Status.success();
      return Status.unresolvable(NODE_UNSCHEDULABLE_ERR_REASON);
    },
    eventsToRegister() {
      return [
        { resource: 'Node', action: 'Add' },
        // spec.unschedulable changes are reported as UpdateNodeTaint, as upstream.
        { resource: 'Node', action: 'UpdateNodeTaint' },
      ];
    },
  };
  return plugin;
};

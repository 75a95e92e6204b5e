// NodeName (upstream plugins/nodename): a pod that names a node fits only that node.
import { Status, type Plugin, type PluginFactory, type Pod, type NodeInfo } from '../framework/types.js';

export const NODE_NAME = 'NodeName';
export const NODE_NAME_ERR_REASON = "node(s) didn't match the requested node name";

/** True when the pod names no node or names this one. */
export function fitsNodeName(pod: Pod, ni: NodeInfo): boolean {
  const want = pod.spec?.nodeName;
  return !want || want === ni.name;
}

export const newNodeName: PluginFactory = () => {
  const plugin: Plugin = {
    name: NODE_NAME,
    preFilter(_state, pod) {
      const want: string | undefined = pod.spec?.nodeName;
      if (!want) return { status: Status.skip() };
      return { result: { nodeNames: new Set([want]) }, status: Status.success() };
    },
    filter(_state, pod, node) {
      return fitsNodeName(pod, node) ? Status.success() : Status.unresolvable(NODE_NAME_ERR_REASON);
    },
    eventsToRegister() {
      return [
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'Update' },
      ];
    },
  };
  return plugin;
};

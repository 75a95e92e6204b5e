// NodePorts (upstream plugins/nodeports): a pod's host ports must be free on the node. A wildcard
// host IP (0.0.0.0, "::" or empty) conflicts with the same protocol/port on any IP, and a specific
// IP conflicts with itself and with the wildcard.
import { Status, type NodeInfo, type Plugin, type PluginFactory, type Pod } from '../framework/types.js';

export const NODE_PORTS = 'NodePorts';
export const NODE_PORTS_ERR_REASON = "node(s) didn't have free ports for the requested pod ports";
const PRE_FILTER_KEY = 'PreFilter' + NODE_PORTS;
const BIND_ALL = '0.0.0.0';

export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

function sanitizeIP(ip: string | undefined): string {
  return !ip || ip === '::' || ip === '0.0.0.0' || /^(0*:)*:?0*$/.test(ip) ? BIND_ALL : ip;
}

/** Host ports the pod's (regular) containers ask for; ports without hostPort are ignored. */
export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.hostPort > 0) out.push({ protocol: p.protocol || 'TCP', hostIP: sanitizeIP(p.hostIP), port: p.hostPort });
  return out;
}

/** Parses a NodeInfo.usedPorts key ("protocol/hostIP/port"). */
function parseKey(key: string): HostPort {
  const a = key.indexOf('/');
  const b = key.lastIndexOf('/');
  return { protocol: key.slice(0, a), hostIP: sanitizeIP(key.slice(a + 1, b)), port: Number(key.slice(b + 1)) };
}

/** True when the wanted port conflicts with one already used on the node. */
export function portConflicts(used: Map<string, number>, want: HostPort): boolean {
  if (want.port <= 0) return false;
  for (const key of used.keys()) {
    const u = parseKey(key);
    if (u.port !== want.port || u.protocol !== want.protocol) continue;
    if (want.hostIP === BIND_ALL || u.hostIP === BIND_ALL || u.hostIP === want.hostIP) return true;
  }
  return false;
}

/** True when none of the wanted ports conflicts on the node. */
export function fitsPorts(want: readonly HostPort[], ni: NodeInfo): boolean {
  if (ni.usedPorts.size === 0) return true;
  for (const w of want) if (portConflicts(ni.usedPorts, w)) return false;
  return true;
}

export const newNodePorts: PluginFactory = () => {
  const plugin: Plugin = {
    name: NODE_PORTS,
    preFilter(state, pod) {
      const ports = podHostPorts(pod);
      if (ports.length === 0) return { status: Status.skip() };
      state.write(PRE_FILTER_KEY, ports);
      return { status: Status.success() };
    },
    filter(state, pod, node) {
      const ports = state.read<HostPort[]>(PRE_FILTER_KEY) ?? podHostPorts(pod);
      return fitsPorts(ports, node) ? Status.success() : Status.unschedulable(NODE_PORTS_ERR_REASON);
    },
    eventsToRegister() {
      return [
        { resource: 'Pod', action: 'Delete' },
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'Update' },
      ];
    },
  };
  return plugin;
};

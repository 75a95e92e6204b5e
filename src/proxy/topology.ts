// Which endpoints a service port uses from this node, by traffic policy (as upstream's
// CategorizeEndpoints): Ready endpoints, falling back to serving-and-terminating ones
// independently for Cluster and Local policy; zone hints narrow Cluster endpoints when every
// ready endpoint has one and at least one names this node's zone.
import type { EndpointInfo } from './endpoints.js';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './service-port.js';

export interface CategorizedEndpoints {
  /** For Cluster policy (empty when the service never uses it). */
  cluster: EndpointInfo[];
  /** For Local policy (empty when the service never uses it or has no usable local endpoint). */
  local: EndpointInfo[];
  /** Union of both: the endpoints that get a SEP chain on this node. */
  reachable: EndpointInfo[];
  /** Usable endpoints exist somewhere in the cluster (even if none is reachable from here). */
  hasAny: boolean;
}

function useZoneHints(endpoints: EndpointInfo[], zone: string | undefined): boolean {
  if (!zone) return false;
  let anyReady = false;
  let forZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    anyReady = true;
    if (ep.zoneHints.length === 0) return false;
    if (ep.zoneHints.includes(zone)) forZone = true;
  }
  return anyReady && forZone;
}

export function categorizeEndpoints(endpoints: EndpointInfo[], sp: ServicePortInfo, zone: string | undefined): CategorizedEndpoints {
  const res: CategorizedEndpoints = { cluster: [], local: [], reachable: [], hasAny: false };
  if (endpoints.length === 0) return res;
  let zoned = false;
  if (usesClusterEndpoints(sp)) {
    zoned = useZoneHints(endpoints, zone);
    res.cluster = endpoints.filter((ep) => ep.ready && (!zoned || ep.zoneHints.includes(zone!)));
    if (res.cluster.length === 0) res.cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
    res.hasAny = res.cluster.length > 0;
  }
  if (!usesLocalEndpoints(sp)) {
    res.reachable = res.cluster;
    return res;
  }
  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      res.hasAny = true;
      if (ep.isLocal) localReady = true;
    } else if (ep.serving && ep.terminating) {
      res.hasAny = true;
      if (ep.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) res.local = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (localServingTerminating) res.local = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  if (!usesClusterEndpoints(sp)) {
    res.reachable = res.local;
    return res;
  }
  if (!zoned && !localServingTerminating) {
    // Every local ready endpoint is already among the cluster endpoints.
    res.reachable = res.cluster;
    return res;
  }
  const merged = new Map<string, EndpointInfo>();
  for (const ep of res.cluster) merged.set(ep.endpoint, ep);
  for (const ep of res.local) merged.set(ep.endpoint, ep);
  res.reachable = [...merged.values()];
  return res;
}

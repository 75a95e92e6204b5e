// What the proxy needs of a Service: one ServicePortInfo per spec.ports entry, with the chain
// names precomputed. Headless and ExternalName services have no ports here (nothing to proxy).
import type { KObject } from '../api/types.js';
import { EXT_PREFIX, FW_PREFIX, SVC_PREFIX, XLB_PREFIX, portProtoHash } from './chains.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** Upstream's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export interface ServicePortInfo {
  /** "namespace/name" of the Service. */
  service: string;
  /** "namespace/name:port-name" (no ":" part for an unnamed port), as upstream's ServicePortName. */
  nameString: string;
  /** Key shared with endpoints: nameString + "/" + protocol. */
  key: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** 0 when the service type does not allocate node ports. */
  nodePort: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  /** Seconds of ClientIP affinity; 0 when sessionAffinity is None. */
  affinitySeconds: number;
  /** externalTrafficPolicy Local on a NodePort/LoadBalancer service. */
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  svcChain: string;
  localChain: string;
  extChain: string;
  fwChain: string;
}

export function servicePortKey(nameString: string, protocol: string): string {
  return `${nameString}/${protocol}`;
}

function isIPv4(s: unknown): s is string {
  return typeof s === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

/** The ports of a Service the proxy programs; [] for headless, ExternalName or IP-less services. */
export function servicePorts(svc: KObject): ServicePortInfo[] {
  const spec = (svc as any).spec ?? {};
  const type: string = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName') return [];
  const clusterIP: string | undefined = spec.clusterIP;
  if (!clusterIP || clusterIP === 'None' || !isIPv4(clusterIP)) return [];
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const hasNodePorts = type === 'NodePort' || type === 'LoadBalancer';
  const externalIPs: string[] = (spec.externalIPs ?? []).filter(isIPv4);
  const loadBalancerIPs: string[] =
    type === 'LoadBalancer' ? ((svc as any).status?.loadBalancer?.ingress ?? []).map((i: any) => i?.ip).filter(isIPv4) : [];
  const sourceRanges: string[] = (spec.loadBalancerSourceRanges ?? []).map((s: string) => s.trim()).filter((s: string) => /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(s));
  const affinitySeconds =
    spec.sessionAffinity === 'ClientIP' ? Number(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) : 0;
  const externallyAccessibleType = hasNodePorts;
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const port = Number(p?.port);
    if (!Number.isInteger(port) || port <= 0) continue;
    const protocol = String(p.protocol ?? 'TCP').toLowerCase() as Protocol;
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') continue;
    const nameString = `${ns}/${name}${p.name ? `:${p.name}` : ''}`;
    const hash = portProtoHash(nameString, protocol);
    out.push({
      service: `${ns}/${name}`,
      nameString,
      key: servicePortKey(nameString, protocol),
      protocol,
      clusterIP,
      port,
      nodePort: hasNodePorts ? Number(p.nodePort ?? 0) || 0 : 0,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: sourceRanges,
      affinitySeconds,
      externalPolicyLocal: externallyAccessibleType && spec.externalTrafficPolicy === 'Local',
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      svcChain: SVC_PREFIX + hash,
      localChain: XLB_PREFIX + hash,
      extChain: EXT_PREFIX + hash,
      fwChain: FW_PREFIX + hash,
    });
  }
  return out;
}

/** NodePort, external IPs or load balancer IPs: traffic that goes through the EXT chain. */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort > 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
}

/** Even with Local external policy, externally reachable ports need cluster endpoints to short-circuit pod and node traffic. */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (externallyAccessible(sp) && sp.externalPolicyLocal);
}

/** Cheap structural equality, to skip no-op updates (status-only changes, resyncs). */
export function samePorts(a: ServicePortInfo[] | undefined, b: ServicePortInfo[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x.key !== y.key || x.clusterIP !== y.clusterIP || x.port !== y.port || x.nodePort !== y.nodePort ||
      x.affinitySeconds !== y.affinitySeconds || x.externalPolicyLocal !== y.externalPolicyLocal ||
      x.internalPolicyLocal !== y.internalPolicyLocal || x.externalIPs.join() !== y.externalIPs.join() ||
      x.loadBalancerIPs.join() !== y.loadBalancerIPs.join() || x.loadBalancerSourceRanges.join() !== y.loadBalancerSourceRanges.join()
    ) return false;
  }
  return true;
}

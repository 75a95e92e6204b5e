// Endpoints per service port, merged from all of a Service's EndpointSlices.
import type { KObject } from '../api/types.js';
import { endpointChainName } from './chains.js';
import { servicePortKey, type Protocol } from './service-port.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointInfo {
  ip: string;
  port: number;
  /** "ip:port" */
  endpoint: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** On this proxy's node. */
  isLocal: boolean;
  zoneHints: string[];
  chain: string;
}

/** service port key (see servicePortKey) -> endpoints, sorted by "ip:port". */
export type ServiceEndpoints = Map<string, EndpointInfo[]>;

/** Slices by service; computes a service's endpoints when its slices change. */
export class EndpointSliceCache {
  private readonly slices = new Map<string, Map<string, KObject>>();

  constructor(private readonly nodeName: string) {}

  /** The "namespace/name" of the Service a slice belongs to, or undefined when unlabelled. */
  static serviceOf(slice: KObject): string | undefined {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) return undefined;
    return `${slice.metadata?.namespace ?? 'default'}/${svc}`;
  }

  /** Records a slice (or its removal); returns the affected service, if any. */
  update(slice: KObject, deleted: boolean): string | undefined {
    const svc = EndpointSliceCache.serviceOf(slice);
    if (!svc) return undefined;
    const name = slice.metadata?.name ?? '';
    let bySvc = this.slices.get(svc);
    if (deleted) {
      if (!bySvc?.delete(name)) return undefined;
      if (bySvc.size === 0) this.slices.delete(svc);
      return svc;
    }
    if ((slice as any).addressType && (slice as any).addressType !== 'IPv4') return undefined;
    if (!bySvc) this.slices.set(svc, (bySvc = new Map()));
    bySvc.set(name, slice);
    return svc;
  }

  /** The merged endpoints of a service, per service port. */
  endpointsFor(service: string): ServiceEndpoints {
    const out: ServiceEndpoints = new Map();
    const bySvc = this.slices.get(service);
    if (!bySvc) return out;
    const byPort = new Map<string, Map<string, EndpointInfo>>();
    // Slices in name order, so the merge is deterministic.
    for (const name of [...bySvc.keys()].sort()) {
      const slice = bySvc.get(name) as any;
      for (const p of slice.ports ?? []) {
        const port = Number(p?.port);
        if (!Number.isInteger(port) || port <= 0) continue;
        const protocol = String(p.protocol ?? 'TCP').toLowerCase() as Protocol;
        const nameString = `${service}${p.name ? `:${p.name}` : ''}`;
        const key = servicePortKey(nameString, protocol);
        let eps = byPort.get(key);
        if (!eps) byPort.set(key, (eps = new Map()));
        for (const ep of slice.endpoints ?? []) {
          const ip = ep?.addresses?.[0];
          if (typeof ip !== 'string') continue;
          const c = ep.conditions ?? {};
          const ready = c.ready == null || c.ready === true;
          const info: EndpointInfo = {
            ip,
            port,
            endpoint: `${ip}:${port}`,
            ready,
            serving: c.serving == null ? ready : c.serving === true,
            terminating: c.terminating === true,
            isLocal: !!ep.nodeName && ep.nodeName === this.nodeName,
            zoneHints: (ep.hints?.forZones ?? []).map((z: any) => z?.name).filter((z: unknown) => typeof z === 'string'),
            chain: endpointChainName(nameString, protocol, `${ip}:${port}`),
          };
          // The same endpoint in two slices (during a slice handover): a ready copy wins.
          const prev = eps.get(info.endpoint);
          if (!prev || (!prev.ready && info.ready)) eps.set(info.endpoint, info);
        }
      }
    }
    for (const [key, eps] of byPort) {
      out.set(key, [...eps.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0)));
    }
    return out;
  }
}

/** Equality of two endpoint sets, to skip no-op slice updates. */
export function sameEndpoints(a: ServiceEndpoints | undefined, b: ServiceEndpoints): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [key, eb] of b) {
    const ea = a.get(key);
    if (!ea || ea.length !== eb.length) return false;
    for (let i = 0; i < ea.length; i++) {
      const x = ea[i];
      const y = eb[i];
      if (x.endpoint !== y.endpoint || x.ready !== y.ready || x.serving !== y.serving || x.terminating !== y.terminating || x.isLocal !== y.isLocal || x.zoneHints.join() !== y.zoneHints.join()) return false;
    }
  }
  return true;
}

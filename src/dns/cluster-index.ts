// The in-memory view DNS answers from: one record per Service (cluster IPs, ports, ready
// endpoints by hostname) and a reverse map from IP to names, fed by the services and
// endpointslices informers. Informer events only mark a service dirty; its record is rebuilt
// the next time a query needs the index, so a burst of endpoint updates costs one rebuild.
import type { KObject } from '../api/types.js';
import type { SharedInformer } from '../client/index.js';
import { canonicalIP, dashedIP } from './names.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const TOLERATE_UNREADY = 'service.alpha.kubernetes.io/tolerate-unready-endpoints';
export const SLICES_BY_SERVICE = 'dns/service';

export interface PortRecord {
  /** Lowercase port name ("" when unnamed). */
  name: string;
  /** Lowercase protocol: tcp, udp or sctp. */
  protocol: string;
  port: number;
}

export interface EndpointRecord {
  ip: string;
  v6: boolean;
  /** Lowercase label under the service name: the endpoint's hostname, or its dashed IP. */
  host: string;
  /** The ports of the slice this address came from (headless SRV uses endpoint ports). */
  ports: PortRecord[];
}

export interface ServiceRecord {
  name: string;
  namespace: string;
  /** "<svc>.<ns>.svc.<zone>", lowercase. */
  fqdn: string;
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  clusterIPv4: string[];
  clusterIPv6: string[];
  /** ExternalName target, lowercase, without trailing dot. */
  externalName: string;
  ports: PortRecord[];
  /** Ready endpoints (all of them when the service publishes not-ready addresses), one per IP. */
  endpoints: EndpointRecord[];
  /** Endpoints by host label. */
  byHost: Map<string, EndpointRecord[]>;
}

export class ClusterIndex {
  /** Bumped on every informer event: answers that depend on everything compare it. */
  generation = 0;
  /** Service key ("ns/name") → the generation of its last change: answers about one service compare it. */
  private readonly keyGenerations = new Map<string, number>();
  /** SOA serial: unix seconds of the last change. */
  serial = Math.floor(Date.now() / 1000);
  private readonly records = new Map<string, ServiceRecord>();
  private readonly dirty = new Set<string>();
  /** Canonical IP → names (service FQDNs for cluster IPs, host FQDNs for headless endpoints). */
  private readonly ptr = new Map<string, string[]>();
  /** Namespace → number of services in it (a namespace "exists" in DNS when it has one). */
  private readonly namespaces = new Map<string, number>();

  constructor(
    private readonly services: SharedInformer,
    private readonly slices: SharedInformer,
    readonly zone: string,
  ) {
    if (!slices.store.hasIndexer(SLICES_BY_SERVICE)) {
      slices.addIndexer(SLICES_BY_SERVICE, (s) => {
        const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
        return svc ? `${s.metadata?.namespace ?? ''}/${svc}` : undefined;
      });
    }
  }

  /** Informer handlers for services. */
  serviceHandlers() {
    const mark = (s: KObject) => this.markDirty(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`);
    return { onAdd: mark, onUpdate: (_o: KObject, s: KObject) => mark(s), onDelete: mark };
  }

  /** Informer handlers for endpointslices (a relabelled slice dirties its old and new service). */
  sliceHandlers() {
    const mark = (s: KObject) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc) this.markDirty(`${s.metadata?.namespace ?? ''}/${svc}`);
    };
    return {
      onAdd: mark,
      onUpdate: (o: KObject, s: KObject) => {
        mark(o);
        mark(s);
      },
      onDelete: mark,
    };
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    this.keyGenerations.set(key, ++this.generation);
    this.serial = Math.floor(Date.now() / 1000);
  }

  /**
   * The generation an answer's dependency is at: "*" for answers that may depend on any service
   * (reverse lookups, namespaces), "ns/name" for one service, "" for answers that never change.
   */
  generationOf(dep: string): number {
    if (dep === '') return 0;
    if (dep === '*') return this.generation;
    return this.keyGenerations.get(dep) ?? 0;
  }

  /** The record of a service (case-insensitive names), or undefined. */
  service(namespace: string, name: string): ServiceRecord | undefined {
    this.flush();
    return this.records.get(`${namespace}/${name}`);
  }

  /** Names pointing at ip (canonical form). */
  ptrNames(ip: string): readonly string[] | undefined {
    this.flush();
    return this.ptr.get(ip);
  }

  hasNamespace(namespace: string): boolean {
    this.flush();
    return this.namespaces.has(namespace);
  }

  /** Applies pending changes. Records are keyed by lowercase "ns/name". */
  flush(): void {
    if (this.dirty.size === 0) return;
    for (const key of this.dirty) this.rebuild(key);
    this.dirty.clear();
  }

  private rebuild(key: string): void {
    const lower = key.toLowerCase();
    const old = this.records.get(lower);
    if (old) {
      this.forgetPtr(old);
      this.records.delete(lower);
      this.countNamespace(old.namespace, -1);
    }
    const slash = key.indexOf('/');
    const svc = this.services.get(key.slice(0, slash), key.slice(slash + 1));
    if (!svc) return;
    const rec = this.buildRecord(svc, this.slices.byIndex(SLICES_BY_SERVICE, key));
    this.records.set(lower, rec);
    this.countNamespace(rec.namespace, 1);
    this.rememberPtr(rec);
  }

  private countNamespace(ns: string, delta: number): void {
    const n = (this.namespaces.get(ns) ?? 0) + delta;
    if (n > 0) this.namespaces.set(ns, n);
    else this.namespaces.delete(ns);
  }

  private buildRecord(svc: KObject, slices: KObject[]): ServiceRecord {
    const spec = (svc.spec ?? {}) as Record<string, any>;
    const name = String(svc.metadata?.name ?? '').toLowerCase();
    const namespace = String(svc.metadata?.namespace ?? '').toLowerCase();
    const fqdn = `${name}.${namespace}.svc.${this.zone}`;
    const ips: string[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    const kind: ServiceRecord['kind'] =
      spec.type === 'ExternalName' ? 'ExternalName' : ips.length === 0 || ips[0] === 'None' ? 'Headless' : 'ClusterIP';
    const rec: ServiceRecord = {
      name,
      namespace,
      fqdn,
      kind,
      clusterIPv4: [],
      clusterIPv6: [],
      externalName: kind === 'ExternalName' ? String(spec.externalName ?? '').toLowerCase().replace(/\.$/, '') : '',
      ports: toPorts(spec.ports),
      endpoints: [],
      byHost: new Map(),
    };
    if (kind === 'ClusterIP') {
      for (const ip of ips) {
        if (ip.includes(':')) rec.clusterIPv6.push(ip);
        else rec.clusterIPv4.push(ip);
      }
    } else if (kind === 'Headless') {
      const publishAll = spec.publishNotReadyAddresses === true || svc.metadata?.annotations?.[TOLERATE_UNREADY] === 'true';
      const seen = new Set<string>();
      for (const slice of slices) {
        const type = (slice as any).addressType;
        if (type !== 'IPv4' && type !== 'IPv6') continue;
        const ports = toPorts((slice as any).ports);
        for (const ep of ((slice as any).endpoints ?? []) as any[]) {
          // A nil ready condition means "unknown", which consumers treat as ready.
          if (!publishAll && ep.conditions?.ready === false) continue;
          for (const ip of (ep.addresses ?? []) as string[]) {
            const canon = canonicalIP(ip);
            if (!canon || seen.has(canon)) continue;
            seen.add(canon);
            const host = typeof ep.hostname === 'string' && ep.hostname ? ep.hostname.toLowerCase() : dashedIP(ip);
            const e: EndpointRecord = { ip, v6: type === 'IPv6', host, ports };
            rec.endpoints.push(e);
            const list = rec.byHost.get(host);
            if (list) list.push(e);
            else rec.byHost.set(host, [e]);
          }
        }
      }
    }
    return rec;
  }

  private rememberPtr(rec: ServiceRecord): void {
    for (const ip of [...rec.clusterIPv4, ...rec.clusterIPv6]) this.addPtr(ip, rec.fqdn);
    for (const e of rec.endpoints) this.addPtr(e.ip, `${e.host}.${rec.fqdn}`);
  }

  private forgetPtr(rec: ServiceRecord): void {
    for (const ip of [...rec.clusterIPv4, ...rec.clusterIPv6]) this.removePtr(ip, rec.fqdn);
    for (const e of rec.endpoints) this.removePtr(e.ip, `${e.host}.${rec.fqdn}`);
  }

  private addPtr(ip: string, name: string): void {
    const key = canonicalIP(ip);
    if (!key) return;
    const list = this.ptr.get(key);
    if (!list) this.ptr.set(key, [name]);
    else if (!list.includes(name)) list.push(name);
  }

  private removePtr(ip: string, name: string): void {
    const key = canonicalIP(ip);
    const list = key ? this.ptr.get(key) : undefined;
    if (!list) return;
    const i = list.indexOf(name);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ptr.delete(key!);
  }
}

function toPorts(raw: unknown): PortRecord[] {
  if (!Array.isArray(raw)) return [];
  const out: PortRecord[] = [];
  for (const p of raw) {
    if (typeof p?.port !== 'number') continue;
    out.push({ name: String(p.name ?? '').toLowerCase(), protocol: String(p.protocol ?? 'TCP').toLowerCase(), port: p.port });
  }
  return out;
}

// Answers for names in the cluster domain and for reverse lookups of cluster addresses, as
// Kubernetes' DNS specification lays them out (and CoreDNS's kubernetes plugin fills in):
//   <svc>.<ns>.svc.<zone>                 A/AAAA cluster IP; headless: ready endpoint IPs;
//                                          ExternalName: CNAME
//   <host>.<svc>.<ns>.svc.<zone>          A/AAAA of a headless service's endpoint
//   _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV per named port (× endpoint when headless)
//   <a-b-c-d>.<ns>.pod.<zone>             A for the address spelled by the label
//   <d>.<c>.<b>.<a>.in-addr.arpa           PTR for service IPs and headless endpoint IPs
//   dns-version.<zone>                    TXT schema version
// Unknown names get NXDOMAIN, names that exist without the asked type get NODATA; both carry
// the zone's SOA in the authority section.
import type { Answer } from 'dns-packet';
import type { ClusterIndex, EndpointRecord, PortRecord, ServiceRecord } from './cluster-index.js';
import { inZone, ipFromDashed, reverseNameToIP } from './names.js';

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The DNS schema version CoreDNS reports for the spec it implements. */
export const DNS_SCHEMA_VERSION = '1.1.0';

export interface ZoneAnswer {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName target outside the zone whose records the server may append (from upstream). */
  chase?: { name: string; qtype: number };
  /** What the answer depends on, for caching: see ClusterIndex.generationOf ("" when unchanging). */
  dep: string;
}

const MAX_CNAME_DEPTH = 8;

export class ClusterZone {
  constructor(
    private readonly index: ClusterIndex,
    /** Lowercase, no trailing dot. */
    readonly zone: string,
    private readonly ttl: number,
  ) {}

  /** True for names this server answers itself rather than forwarding. */
  owns(qname: string): boolean {
    return inZone(qname, this.zone);
  }

  /**
   * The answer for a lowercase name without trailing dot, or undefined when the name is not
   * ours to answer (outside the zone, or a reverse name of an address we do not know).
   */
  answer(qname: string, qtype: number): ZoneAnswer | undefined {
    if (inZone(qname, this.zone)) {
      const a = this.zoneAnswer(qname, qtype, 0);
      a.dep = this.dependency(qname);
      return a;
    }
    if (inZone(qname, 'in-addr.arpa') || inZone(qname, 'ip6.arpa')) return this.reverseAnswer(qname, qtype);
    return undefined;
  }

  /**
   * What a cluster-zone answer depends on: names under <svc>.<ns>.svc on that one service
   * (unless it is an ExternalName pointing back into the zone), pod records and dns-version on
   * nothing, everything else (namespaces, the apex's name server) on any service.
   */
  private dependency(qname: string): string {
    const rel = qname.length === this.zone.length ? '' : qname.slice(0, qname.length - this.zone.length - 1);
    const labels = rel === '' ? [] : rel.split('.');
    const n = labels.length;
    const top = labels[n - 1];
    if (top === 'svc' && n >= 3) {
      const key = `${labels[n - 2]}/${labels[n - 3]}`;
      const svc = this.index.service(labels[n - 2], labels[n - 3]);
      return svc?.kind === 'ExternalName' && inZone(svc.externalName, this.zone) ? '*' : key;
    }
    if (top === 'pod' || (top === 'dns-version' && n === 1)) return '';
    return '*';
  }

  private reverseAnswer(qname: string, qtype: number): ZoneAnswer | undefined {
    const ip = reverseNameToIP(qname);
    const names = ip ? this.index.ptrNames(ip) : undefined;
    if (!names || names.length === 0) return undefined;
    const out = empty();
    out.dep = '*';
    if (qtype === QTYPE.PTR || qtype === QTYPE.ANY) for (const n of names) out.answers.push({ name: qname, type: 'PTR', ttl: this.ttl, data: n });
    return out;
  }

  private zoneAnswer(qname: string, qtype: number, depth: number): ZoneAnswer {
    const rel = qname.length === this.zone.length ? '' : qname.slice(0, qname.length - this.zone.length - 1);
    const labels = rel === '' ? [] : rel.split('.');
    const n = labels.length;
    if (n === 0) return this.apex(qtype);
    const top = labels[n - 1];
    if (top === 'svc') {
      if (n === 1) return this.nodata();
      if (n === 2) return this.index.hasNamespace(labels[0]) ? this.nodata() : this.nxdomain();
      const svc = this.index.service(labels[n - 2], labels[n - 3]);
      if (!svc) return this.nxdomain();
      if (n === 3) return this.serviceAnswer(svc, qname, qtype, depth);
      if (n === 4) return this.subServiceAnswer(svc, labels[0], qname, qtype);
      if (n === 5 && labels[0].startsWith('_') && labels[1].startsWith('_')) return this.srvAnswer(svc, labels[0].slice(1), labels[1].slice(1), qname, qtype);
      return this.nxdomain();
    }
    if (top === 'pod') {
      if (n <= 2) return this.nodata();
      if (n !== 3) return this.nxdomain();
      const addr = ipFromDashed(labels[0]);
      if (!addr) return this.nxdomain();
      const out = this.nodata();
      if (this.wants(qtype, addr.v6)) return this.withAnswers([{ name: qname, type: addr.v6 ? 'AAAA' : 'A', ttl: this.ttl, data: addr.ip }]);
      return out;
    }
    if (top === 'dns-version' && n === 1) {
      if (qtype === QTYPE.TXT || qtype === QTYPE.ANY) return this.withAnswers([{ name: qname, type: 'TXT', ttl: this.ttl, data: DNS_SCHEMA_VERSION }]);
      return this.nodata();
    }
    if (top === 'dns') {
      if (n === 1) return this.nodata();
      if (n === 2 && labels[0] === 'ns') {
        const answers = this.nameserverAddresses(qname, qtype);
        return answers.length ? this.withAnswers(answers) : this.nodata();
      }
    }
    return this.nxdomain();
  }

  private apex(qtype: number): ZoneAnswer {
    const out = empty();
    if (qtype === QTYPE.SOA || qtype === QTYPE.ANY) out.answers.push(this.soa());
    if (qtype === QTYPE.NS || qtype === QTYPE.ANY) {
      const ns = `ns.dns.${this.zone}`;
      out.answers.push({ name: this.zone, type: 'NS', ttl: this.ttl, data: ns });
      out.additionals.push(...this.nameserverAddresses(ns, QTYPE.ANY));
    }
    if (out.answers.length === 0) out.authorities.push(this.soa());
    return out;
  }

  /** ns.dns.<zone>: the kube-dns service's cluster IPs, as CoreDNS reports its own name server. */
  private nameserverAddresses(owner: string, qtype: number): Answer[] {
    const svc = this.index.service('kube-system', 'kube-dns');
    if (!svc) return [];
    const out: Answer[] = [];
    if (this.wants(qtype, false)) for (const ip of svc.clusterIPv4) out.push({ name: owner, type: 'A', ttl: this.ttl, data: ip });
    if (this.wants(qtype, true)) for (const ip of svc.clusterIPv6) out.push({ name: owner, type: 'AAAA', ttl: this.ttl, data: ip });
    return out;
  }

  private serviceAnswer(svc: ServiceRecord, qname: string, qtype: number, depth: number): ZoneAnswer {
    if (svc.kind === 'ExternalName') return this.externalName(svc, qname, qtype, depth);
    if (svc.kind === 'Headless' && svc.endpoints.length === 0) return this.nxdomain();
    if (qtype === QTYPE.SRV) return this.srvRecords(svc, qname, (p) => p.port > 0);
    const answers: Answer[] = [];
    if (svc.kind === 'ClusterIP') {
      if (this.wants(qtype, false)) for (const ip of svc.clusterIPv4) answers.push({ name: qname, type: 'A', ttl: this.ttl, data: ip });
      if (this.wants(qtype, true)) for (const ip of svc.clusterIPv6) answers.push({ name: qname, type: 'AAAA', ttl: this.ttl, data: ip });
    } else {
      this.endpointAddresses(svc.endpoints, qname, qtype, answers);
    }
    return answers.length ? this.withAnswers(answers) : this.nodata();
  }

  private externalName(svc: ServiceRecord, qname: string, qtype: number, depth: number): ZoneAnswer {
    if (!svc.externalName) return this.nodata();
    const out = this.withAnswers([{ name: qname, type: 'CNAME', ttl: this.ttl, data: svc.externalName }]);
    if (qtype === QTYPE.CNAME) return out;
    if (inZone(svc.externalName, this.zone)) {
      // A target inside the cluster domain is resolved here; its rcode (e.g. NXDOMAIN) carries over.
      if (depth >= MAX_CNAME_DEPTH) return out;
      const next = this.zoneAnswer(svc.externalName, qtype, depth + 1);
      out.rcode = next.rcode;
      out.answers.push(...next.answers);
      out.additionals.push(...next.additionals);
      if (next.answers.length === 0) out.authorities.push(...next.authorities);
      return out;
    }
    out.chase = { name: svc.externalName, qtype };
    return out;
  }

  /** Four labels: a headless endpoint's host name, or the "_proto" level above SRV names. */
  private subServiceAnswer(svc: ServiceRecord, label: string, qname: string, qtype: number): ZoneAnswer {
    if (label.startsWith('_')) {
      const proto = label.slice(1);
      return this.portsOf(svc).some((p) => p.protocol === proto) ? this.nodata() : this.nxdomain();
    }
    if (svc.kind !== 'Headless') return this.nxdomain();
    const eps = svc.byHost.get(label);
    if (!eps) return this.nxdomain();
    const answers: Answer[] = [];
    this.endpointAddresses(eps, qname, qtype, answers);
    return answers.length ? this.withAnswers(answers) : this.nodata();
  }

  private srvAnswer(svc: ServiceRecord, port: string, proto: string, qname: string, qtype: number): ZoneAnswer {
    const match = (p: PortRecord) => p.name !== '' && p.name === port && p.protocol === proto;
    if (!this.portsOf(svc).some(match)) return this.nxdomain();
    if (qtype !== QTYPE.SRV && qtype !== QTYPE.ANY) return this.nodata();
    return this.srvRecords(svc, qname, match);
  }

  /** SRV records for the matching ports: the service name as target, or each endpoint's host name. */
  private srvRecords(svc: ServiceRecord, qname: string, match: (p: PortRecord) => boolean): ZoneAnswer {
    const targets: Array<{ port: number; target: string; ep?: EndpointRecord }> = [];
    if (svc.kind === 'ClusterIP') {
      for (const p of svc.ports) if (match(p)) targets.push({ port: p.port, target: svc.fqdn });
    } else if (svc.kind === 'Headless') {
      for (const ep of svc.endpoints) for (const p of ep.ports) if (match(p)) targets.push({ port: p.port, target: `${ep.host}.${svc.fqdn}`, ep });
    }
    if (targets.length === 0) return this.nodata();
    const out = empty();
    const weight = Math.max(1, Math.floor(100 / targets.length));
    const glued = new Set<string>();
    for (const t of targets) {
      out.answers.push({ name: qname, type: 'SRV', ttl: this.ttl, data: { priority: 0, weight, port: t.port, target: t.target } });
      if (glued.has(t.target)) continue;
      glued.add(t.target);
      if (t.ep) out.additionals.push({ name: t.target, type: t.ep.v6 ? 'AAAA' : 'A', ttl: this.ttl, data: t.ep.ip });
      else {
        for (const ip of svc.clusterIPv4) out.additionals.push({ name: t.target, type: 'A', ttl: this.ttl, data: ip });
        for (const ip of svc.clusterIPv6) out.additionals.push({ name: t.target, type: 'AAAA', ttl: this.ttl, data: ip });
      }
    }
    return out;
  }

  private portsOf(svc: ServiceRecord): PortRecord[] {
    if (svc.kind !== 'Headless') return svc.ports;
    const seen: PortRecord[] = [];
    for (const ep of svc.endpoints) for (const p of ep.ports) if (!seen.includes(p)) seen.push(p);
    return seen;
  }

  private endpointAddresses(eps: readonly EndpointRecord[], qname: string, qtype: number, into: Answer[]): void {
    for (const e of eps) if (this.wants(qtype, e.v6)) into.push({ name: qname, type: e.v6 ? 'AAAA' : 'A', ttl: this.ttl, data: e.ip });
  }

  /** Does an address record of this family answer qtype? */
  private wants(qtype: number, v6: boolean): boolean {
    return qtype === QTYPE.ANY || qtype === (v6 ? QTYPE.AAAA : QTYPE.A);
  }

  soa(): Answer {
    return {
      name: this.zone,
      type: 'SOA',
      ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.index.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private withAnswers(answers: Answer[]): ZoneAnswer {
    return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: [], dep: '*' };
  }

  private nodata(): ZoneAnswer {
    return { rcode: RCODE.NOERROR, answers: [], authorities: [this.soa()], additionals: [], dep: '*' };
  }

  private nxdomain(): ZoneAnswer {
    return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [this.soa()], additionals: [], dep: '*' };
  }
}

function empty(): ZoneAnswer {
  return { rcode: RCODE.NOERROR, answers: [], authorities: [], additionals: [], dep: '*' };
}

// Cluster IP and NodePort allocation for Services, with upstream's guarantees: no two services
// share an IP or node port (each allocation is a create-if-absent key in the store, so the
// guarantee holds across restarts and across API servers sharing etcd), allocations are
// released when a service is deleted or stops needing them, and requested values are honoured
// or rejected with a clear Invalid error.
import { randomInt } from 'node:crypto';
import type { FieldError, KObject } from '../api/types.js';
import { invalid as fieldInvalid } from '../api/validation.js';
import { StoreError, type Store } from '../storage/store.js';
import { invalid } from './errors.js';

const IP_PREFIX = '/registry/ranges/serviceips/';
const PORT_PREFIX = '/registry/ranges/servicenodeports/';

export interface Cidr {
  base: number; // network address as uint32
  size: number; // number of addresses
  text: string;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(text)}`);
  const bits = Number(m[5]);
  if (bits < 8 || bits > 30) throw new Error(`CIDR ${text}: prefix length must be between 8 and 30`);
  const ip = ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
  const size = 2 ** (32 - bits);
  return { base: ip - (ip % size), size, text };
}

export function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function ipToNumber(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m || m.slice(1).some((p) => +p > 255)) return undefined;
  return ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
}

/** The first usable address of the range: the `kubernetes` service's IP. */
export function firstServiceIP(c: Cidr): string {
  return ipToString(c.base + 1);
}

export interface NodePortRange {
  min: number;
  max: number;
}

/** Undo for allocations made for a write that then failed. */
export type Rollback = () => Promise<void>;

export class ServiceAllocator {
  private readonly usedIPs = new Set<string>();
  private readonly usedPorts = new Set<number>();

  constructor(
    private readonly store: Store,
    readonly cidr: Cidr,
    readonly ports: NodePortRange = { min: 30000, max: 32767 },
  ) {}

  /**
   * Loads existing allocations and repairs them against the services that exist: allocation
   * keys without a service are released, services without a key get one.
   */
  async start(services: KObject[]): Promise<void> {
    const wantIPs = new Map<string, string>();
    const wantPorts = new Map<number, string>();
    for (const s of services) {
      const owner = `${s.metadata?.namespace}/${s.metadata?.name}`;
      for (const ip of clusterIPsOf(s)) wantIPs.set(ip, owner);
      for (const p of nodePortsOf(s)) wantPorts.set(p, owner);
    }
    for (const [prefix, want] of [
      [IP_PREFIX, wantIPs],
      [PORT_PREFIX, wantPorts],
    ] as const) {
      const { kvs } = await this.store.range(prefix);
      const have = new Set<string>();
      for (const kv of kvs) {
        const id = kv.key.slice(prefix.length);
        have.add(id);
        const key = prefix === PORT_PREFIX ? Number(id) : id;
        if (!(want as Map<unknown, string>).has(key)) await this.store.delete(kv.key).catch(() => undefined);
      }
      for (const [id, owner] of want as Map<unknown, string>) {
        if (have.has(String(id))) continue;
        await this.store.create(prefix + id, JSON.stringify({ owner })).catch((e) => {
          if (!(e instanceof StoreError && e.code === 'AlreadyExists')) throw e;
        });
      }
    }
    for (const ip of wantIPs.keys()) this.usedIPs.add(ip);
    for (const p of wantPorts.keys()) this.usedPorts.add(p);
  }

  /**
   * Fills in spec.clusterIP(s) and node ports that svc needs and old (on update) did not have,
   * reserving them. Returns the rollback for when the write fails.
   */
  async allocate(svc: KObject, old: KObject | undefined, dryRun: boolean): Promise<Rollback> {
    const spec = (svc.spec ??= {});
    const owner = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const taken: Array<() => Promise<void>> = [];
    const rollback: Rollback = async () => {
      for (const undo of taken) await undo();
    };
    const errs: FieldError[] = [];
    try {
      const needsIP = spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
      const oldIPs = old ? clusterIPsOf(old) : [];
      if (needsIP && !(spec.clusterIP && oldIPs.includes(spec.clusterIP))) {
        const requested = spec.clusterIP || spec.clusterIPs?.[0];
        if (requested) {
          const n = ipToNumber(requested);
          if (n === undefined || n <= this.cidr.base || n >= this.cidr.base + this.cidr.size - 1)
            errs.push(fieldInvalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`));
          else if (!(await this.reserve(IP_PREFIX, requested, owner, dryRun, this.usedIPs, taken)))
            errs.push(fieldInvalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: provided IP is already allocated`));
          else this.setIP(spec, requested);
        } else {
          const ip = await this.pickIP(owner, dryRun, taken);
          if (!ip) errs.push(fieldInvalid('spec.clusterIPs', [], `failed to allocate IP: range is full`));
          else this.setIP(spec, ip);
        }
      } else if (spec.clusterIP === 'None') {
        spec.clusterIPs = ['None'];
      }
      if (spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)) {
        const oldPorts = new Set(old ? nodePortsOf(old) : []);
        const seen = new Set<number>();
        const ports: any[] = spec.ports ?? [];
        // Requested ports first, so a random pick cannot take one that is asked for later.
        for (const [i, p] of ports.entries()) {
          if (!p.nodePort) continue;
          if (oldPorts.has(p.nodePort) || seen.has(p.nodePort)) {
            seen.add(p.nodePort);
            continue;
          }
          if (p.nodePort < this.ports.min || p.nodePort > this.ports.max)
            errs.push(fieldInvalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}`));
          else if (!(await this.reserve(PORT_PREFIX, p.nodePort, owner, dryRun, this.usedPorts, taken)))
            errs.push(fieldInvalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
          seen.add(p.nodePort);
        }
        for (const [i, p] of ports.entries()) {
          if (p.nodePort) continue;
          const port = await this.pickPort(owner, dryRun, taken);
          if (!port) errs.push(fieldInvalid(`spec.ports[${i}].nodePort`, 0, 'failed to allocate a nodePort: range is full'));
          else p.nodePort = port;
        }
      }
    } catch (e) {
      await rollback();
      throw e;
    }
    if (errs.length) {
      await rollback();
      throw invalid('', 'Service', svc.metadata?.name ?? '', errs);
    }
    return rollback;
  }

  /** Releases what old held and next (undefined: deleted) no longer holds. */
  async release(old: KObject, next: KObject | undefined): Promise<void> {
    const keepIPs = new Set(next ? clusterIPsOf(next) : []);
    const keepPorts = new Set(next ? nodePortsOf(next) : []);
    for (const ip of clusterIPsOf(old)) if (!keepIPs.has(ip)) await this.free(IP_PREFIX, ip, this.usedIPs);
    for (const p of nodePortsOf(old)) if (!keepPorts.has(p)) await this.free(PORT_PREFIX, p, this.usedPorts);
  }

  private setIP(spec: any, ip: string): void {
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }

  private async pickIP(owner: string, dryRun: boolean, taken: Array<() => Promise<void>>): Promise<string | undefined> {
    // Random start, then probe upward; skip the network, first (kubernetes) and broadcast addresses.
    const usable = this.cidr.size - 3;
    const start = randomInt(usable);
    for (let i = 0; i < usable; i++) {
      const ip = ipToString(this.cidr.base + 2 + ((start + i) % usable));
      if (this.usedIPs.has(ip)) continue;
      if (await this.reserve(IP_PREFIX, ip, owner, dryRun, this.usedIPs, taken)) return ip;
    }
    return undefined;
  }

  private async pickPort(owner: string, dryRun: boolean, taken: Array<() => Promise<void>>): Promise<number | undefined> {
    const n = this.ports.max - this.ports.min + 1;
    const start = randomInt(n);
    for (let i = 0; i < n; i++) {
      const port = this.ports.min + ((start + i) % n);
      if (this.usedPorts.has(port)) continue;
      if (await this.reserve(PORT_PREFIX, port, owner, dryRun, this.usedPorts, taken)) return port;
    }
    return undefined;
  }

  private async reserve<T extends string | number>(
    prefix: string,
    id: T,
    owner: string,
    dryRun: boolean,
    used: Set<T>,
    taken: Array<() => Promise<void>>,
  ): Promise<boolean> {
    if (used.has(id)) return false;
    if (dryRun) return true;
    used.add(id);
    try {
      await this.store.create(prefix + id, JSON.stringify({ owner }));
    } catch (e) {
      if (e instanceof StoreError && e.code === 'AlreadyExists') return false; // another server holds it
      used.delete(id);
      throw e;
    }
    taken.push(() => this.free(prefix, id, used));
    return true;
  }

  private async free<T extends string | number>(prefix: string, id: T, used: Set<T>): Promise<void> {
    used.delete(id);
    await this.store.delete(prefix + id).catch((e) => {
      if (!(e instanceof StoreError && e.code === 'NotFound')) throw e;
    });
  }
}

function clusterIPsOf(s: KObject): string[] {
  const spec = s.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const ips: string[] = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== 'None');
}

function nodePortsOf(s: KObject): number[] {
  return (s.spec?.ports ?? []).map((p: any) => p.nodePort).filter((p: unknown): p is number => typeof p === 'number' && p > 0);
}

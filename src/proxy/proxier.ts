// The proxier: service and endpoint maps fed by events, and a sync loop that turns them into
// one iptables-restore per sync. Changes are coalesced (at most one sync per minSyncPeriod); a
// sync rewrites only the chains of services that changed since the last one, except full syncs
// (the first, hourly, after a failure, after a node label change) that rewrite everything and
// also remove stale chains and restore missing jump rules found with iptables-save.
import type { KObject } from '../api/types.js';
import { isServiceChain } from './chains.js';
import { EndpointSliceCache, sameEndpoints, type ServiceEndpoints } from './endpoints.js';
import { Iptables, type IptablesFlavor, type SavedTable } from './iptables.js';
import { generateRules, JUMP_RULES, type GeneratedRules, type JumpRule, type RulesConfig } from './rules.js';
import { hostRunner, type CommandRunner } from './runner.js';
import { deleteConntrack, staleUdpFilters, type ConntrackFilter } from './conntrack.js';
import { samePorts, servicePorts, type ServicePortInfo } from './service-port.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
/** Measured on iptables-nft 1.8.9 at 10,000 services: 1,000 beat 200 (more commits) and 4,000. */
export const NFT_CHAINS_PER_TRANSACTION = 1000;

export interface ProxierOptions {
  nodeName: string;
  /** Pod CIDR of the cluster (default 10.42.0.0/16); "" turns off masquerading of off-cluster sources. */
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /** Runs iptables-save/restore (default: directly on this host). */
  runner?: CommandRunner;
  iptables?: IptablesFlavor;
  /** Minimum time between two syncs (default 1 s). */
  minSyncPeriodMs?: number;
  /** Time between full resyncs (default 1 h). */
  fullSyncPeriodMs?: number;
  /**
   * Split the nat table into iptables-restore transactions of about this many service chains
   * (default: 1000 on iptables-nft, whose restore is quadratic in one transaction's chain
   * count; 0 = one transaction, the default on legacy, which swaps the whole table per commit).
   */
  maxChainsPerTransaction?: number;
  /** Node ports answer on 127.0.0.1 (default true, as upstream; sets route_localnet=1). */
  localhostNodePorts?: boolean;
  /** Delete stale UDP conntrack entries after syncs (default true; needs the conntrack tool). */
  conntrackCleanup?: boolean;
  /** Delay before retrying a failed sync (default 5 s). */
  retryPeriodMs?: number;
  log?: (level: 'info' | 'error', msg: string) => void;
}

export interface SyncResult {
  full: boolean;
  /** iptables-save time (full syncs only). */
  saveMs: number;
  generateMs: number;
  restoreMs: number;
  rules: GeneratedRules;
}

export class Proxier {
  readonly iptables: Iptables;
  private readonly services = new Map<string, ServicePortInfo[]>();
  private readonly endpoints = new Map<string, ServiceEndpoints>();
  private readonly slices: EndpointSliceCache;
  private readonly changed = new Set<string>();
  private readonly cfg: RulesConfig;
  private needFullSync = true;
  private servicesSynced = false;
  private slicesSynced = false;
  private lastActive = new Set<string>();
  /** What the last applied sync used, per service (for UDP conntrack cleanup). */
  private readonly appliedServices = new Map<string, ServicePortInfo[]>();
  private readonly appliedEndpoints = new Map<string, ServiceEndpoints>();
  private localnetChecked = false;
  private conntrackWarned = false;
  private timer: NodeJS.Timeout | undefined;
  private fullTimer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private pending = false;
  private lastSyncStart = 0;
  private stopped = false;
  private readonly minSyncMs: number;
  private readonly retryMs: number;
  private firstSyncResolve!: () => void;
  /** Resolves after the first successful sync. */
  readonly firstSync = new Promise<void>((r) => (this.firstSyncResolve = r));
  /** The last sync's outcome (diagnostics, tests and benchmarks). */
  lastResult: SyncResult | undefined;
  lastError: Error | undefined;

  constructor(private readonly opts: ProxierOptions) {
    this.iptables = new Iptables(opts.runner ?? hostRunner, opts.iptables ?? 'iptables');
    this.slices = new EndpointSliceCache(opts.nodeName);
    this.cfg = { nodeName: opts.nodeName, clusterCIDR: opts.clusterCIDR ?? DEFAULT_CLUSTER_CIDR, masqueradeAll: opts.masqueradeAll };
    this.minSyncMs = opts.minSyncPeriodMs ?? 1000;
    this.retryMs = opts.retryPeriodMs ?? 5000;
    const fullMs = opts.fullSyncPeriodMs ?? 3600_000;
    if (fullMs > 0) {
      this.fullTimer = setInterval(() => this.requestFullSync(), fullMs);
      this.fullTimer.unref();
    }
  }

  // --- event intake -------------------------------------------------------------------

  onService(svc: KObject, deleted = false): void {
    const key = `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name}`;
    const ports = deleted ? [] : servicePorts(svc);
    const prev = this.services.get(key);
    if (ports.length === 0) {
      if (!prev) return;
      this.services.delete(key);
    } else {
      if (samePorts(prev, ports)) return;
      this.services.set(key, ports);
    }
    this.markChanged(key);
  }

  onEndpointSlice(slice: KObject, deleted = false): void {
    const svc = this.slices.update(slice, deleted);
    if (!svc) return;
    const eps = this.slices.endpointsFor(svc);
    const prev = this.endpoints.get(svc);
    if (eps.size === 0) {
      if (!prev) return;
      this.endpoints.delete(svc);
    } else {
      if (sameEndpoints(prev, eps)) return;
      this.endpoints.set(svc, eps);
    }
    this.markChanged(svc);
  }

  /** This node's object: its zone label decides which topology hints apply. */
  onNode(node: KObject | undefined): void {
    if (node && node.metadata?.name !== this.opts.nodeName) return;
    const zone = node?.metadata?.labels?.[ZONE_LABEL] || undefined;
    if (zone === this.cfg.zone) return;
    this.cfg.zone = zone;
    this.requestFullSync();
  }

  /** The initial lists are in: syncing starts once both services and slices are. */
  setSynced(what: 'services' | 'endpointslices'): void {
    if (what === 'services') this.servicesSynced = true;
    else this.slicesSynced = true;
    this.requestSync();
  }

  get initialized(): boolean {
    return this.servicesSynced && this.slicesSynced;
  }

  private markChanged(svc: string): void {
    this.changed.add(svc);
    this.requestSync();
  }

  requestFullSync(): void {
    this.needFullSync = true;
    this.requestSync();
  }

  // --- sync loop ----------------------------------------------------------------------

  /** Schedules a sync, no sooner than minSyncPeriod after the previous one started. */
  requestSync(delayMs?: number): void {
    if (this.stopped || !this.initialized) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    if (this.timer) return;
    const wait = delayMs ?? Math.max(0, this.lastSyncStart + this.minSyncMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runSync();
    }, wait);
  }

  private async runSync(): Promise<void> {
    if (this.stopped) return;
    const p = this.syncOnce().then(
      () => undefined,
      (e: Error) => {
        this.lastError = e;
        this.needFullSync = true;
        this.opts.log?.('error', `sync failed (retrying in ${this.retryMs} ms): ${e.message}`);
        return 'failed' as const;
      },
    );
    this.running = p;
    const outcome = await p;
    this.running = undefined;
    if (outcome === 'failed') this.requestSync(this.retryMs);
    else if (this.pending) {
      this.pending = false;
      this.requestSync();
    }
  }

  /** Syncs now (waiting for a sync in flight first); for tests, benchmarks and shutdown. */
  async syncNow(opts: { full?: boolean } = {}): Promise<SyncResult> {
    while (this.running) await this.running;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (opts.full) this.needFullSync = true;
    const p = this.syncOnce();
    this.running = p.catch(() => undefined);
    try {
      return await p;
    } catch (e) {
      this.needFullSync = true;
      throw e;
    } finally {
      this.running = undefined;
    }
  }

  private async syncOnce(): Promise<SyncResult> {
    this.lastSyncStart = Date.now();
    const full = this.needFullSync;
    const changed = full ? undefined : new Set(this.changed);
    this.changed.clear();
    this.pending = false;
    let existing: Iterable<string> = this.lastActive;
    let missingJumps: JumpRule[] = [];
    const ts = performance.now();
    if (full) {
      const saved = await this.iptables.save('filter', 'nat');
      const nat = saved.get('nat');
      existing = [...(nat?.chains ?? [])].filter(isServiceChain);
      missingJumps = JUMP_RULES.filter((j) => !hasJump(saved.get(j.table), j));
    }
    if (!this.localnetChecked && (this.opts.localhostNodePorts ?? true)) await this.enableLocalnet();
    const maxChainsPerTransaction = this.opts.maxChainsPerTransaction ?? ((await this.iptables.isNft()) ? NFT_CHAINS_PER_TRANSACTION : 0);
    const t0 = performance.now();
    const rules = generateRules({ services: this.services, endpoints: this.endpoints }, this.cfg, {
      changedServices: changed,
      existingChains: existing,
      missingJumps,
      maxChainsPerTransaction,
    });
    const t1 = performance.now();
    try {
      await this.iptables.restore(rules.text);
    } catch (e) {
      // The changes taken above were not applied: the next (full) sync rewrites everything.
      this.needFullSync = true;
      throw e;
    }
    const t2 = performance.now();
    this.lastActive = rules.activeChains;
    await this.cleanupConntrack(changed);
    if (full) this.needFullSync = false;
    this.lastError = undefined;
    this.lastResult = { full, saveMs: t0 - ts, generateMs: t1 - t0, restoreMs: t2 - t1, rules };
    this.firstSyncResolve();
    return this.lastResult;
  }

  /** route_localnet=1 so DNAT from 127.0.0.1 to a pod routes; without it, no localhost node ports. */
  private async enableLocalnet(): Promise<void> {
    this.localnetChecked = true;
    const r = await (this.opts.runner ?? hostRunner).run('sysctl', ['-w', 'net.ipv4.conf.all.route_localnet=1']);
    if (r.code === 0) this.cfg.localhostNodePorts = true;
    else this.opts.log?.('error', `node ports stay off 127.0.0.1: sysctl route_localnet failed: ${r.stderr.trim()}`);
  }

  /** Records what this sync applied and deletes UDP flows it made stale (see conntrack.ts). */
  private async cleanupConntrack(changed: ReadonlySet<string> | undefined): Promise<void> {
    const keys = changed ?? new Set([...this.appliedServices.keys(), ...this.services.keys()]);
    const filters: ConntrackFilter[] = [];
    const enabled = this.opts.conntrackCleanup ?? true;
    for (const key of keys) {
      const before = { ports: this.appliedServices.get(key), endpoints: this.appliedEndpoints.get(key) };
      const after = { ports: this.services.get(key), endpoints: this.endpoints.get(key) };
      if (enabled && (before.ports?.some((p) => p.protocol === 'udp') || after.ports?.some((p) => p.protocol === 'udp'))) {
        filters.push(...staleUdpFilters(before, after));
      }
      if (after.ports) this.appliedServices.set(key, after.ports);
      else this.appliedServices.delete(key);
      if (after.endpoints) this.appliedEndpoints.set(key, after.endpoints);
      else this.appliedEndpoints.delete(key);
    }
    if (filters.length === 0) return;
    const errors = await deleteConntrack(this.opts.runner ?? hostRunner, filters);
    if (errors.length && !this.conntrackWarned) {
      this.conntrackWarned = true;
      this.opts.log?.('error', `stale UDP conntrack entries not deleted (reported once): ${errors[0]}`);
    }
  }

  /** Stops syncing; waits for a sync in flight. Rules stay in place. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.fullTimer);
    while (this.running) await this.running;
  }

  /** Number of service ports and endpoints known (diagnostics). */
  stats(): { services: number; servicePorts: number; endpoints: number } {
    let servicePorts = 0;
    let endpoints = 0;
    for (const p of this.services.values()) servicePorts += p.length;
    for (const e of this.endpoints.values()) for (const l of e.values()) endpoints += l.length;
    return { services: this.services.size, servicePorts, endpoints };
  }
}

/** True when a built-in chain already jumps to our chain (any arguments). */
function hasJump(table: SavedTable | undefined, j: JumpRule): boolean {
  if (!table) return false;
  const head = `-A ${j.from} `;
  const tail = ` -j ${j.to}`;
  return table.rules.some((r) => r.startsWith(head) && (r.endsWith(tail) || r.includes(`${tail} `)));
}

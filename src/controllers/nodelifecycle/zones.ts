// Zones and the eviction rate limit (upstream nodelifecycle handleDisruption and
// RateLimitedTimedQueue): nodes are tainted NoExecute at --node-eviction-rate per zone; slower
// (or not at all, in small clusters) when a zone is partially disrupted, and never while every
// zone is fully disrupted (then the fault is more likely ours or the network's than the nodes').
import type { KObject } from '../../api/types.js';

export type ZoneState = 'Normal' | 'PartialDisruption' | 'FullDisruption' | 'Initial';

const REGION_LABEL = 'topology.kubernetes.io/region';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** A node's zone key: region and zone (upstream GetZoneKey); "" when it has neither. */
export function zoneOf(node: KObject): string {
  const l = node.metadata?.labels ?? {};
  const region = l[REGION_LABEL] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l[ZONE_LABEL] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}:\x00:${zone}` : '';
}

/** The state of a zone from its nodes' Ready condition statuses (undefined: no condition). */
export function computeZoneState(readyStatuses: Array<string | undefined>, unhealthyThreshold: number): ZoneState {
  let ready = 0;
  let notReady = 0;
  for (const s of readyStatuses) {
    if (s === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / (ready + notReady) >= unhealthyThreshold) return 'PartialDisruption';
  return 'Normal';
}

/** A token bucket with burst 1 (upstream's eviction limiter); qps Infinity never limits, 0 always does. */
export class EvictionLimiter {
  private tokens = 1;
  private last = Date.now();

  constructor(public qps: number) {}

  tryAccept(now = Date.now()): boolean {
    if (this.qps === Infinity) return true;
    if (this.qps <= 0) return false;
    this.tokens = Math.min(1, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Nodes waiting for their NoExecute taint in one zone, first come first served. */
export class ZoneTaintQueue {
  private readonly nodes = new Set<string>();
  private limiter: EvictionLimiter;

  constructor(qps: number) {
    this.limiter = new EvictionLimiter(qps);
  }

  add(name: string): void {
    this.nodes.add(name);
  }

  remove(name: string): boolean {
    return this.nodes.delete(name);
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** A new rate (a fresh bucket, as upstream's SwapLimiter). */
  setQPS(qps: number): void {
    if (this.limiter.qps === qps) return;
    this.limiter = new EvictionLimiter(qps);
  }

  get qps(): number {
    return this.limiter.qps;
  }

  /** The nodes the limiter lets through now, removed from the queue. */
  take(): string[] {
    const out: string[] = [];
    for (const name of this.nodes) {
      if (!this.limiter.tryAccept()) break;
      out.push(name);
      this.nodes.delete(name);
    }
    return out;
  }
}

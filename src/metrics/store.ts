// The in-memory metrics store: the last two points of every node and container, and usage
// computed from them as metrics-server does: CPU is the rate of cumulative CPU time between
// the two points (nanocores), memory the last working set, timestamp the last point's and
// window the time between the two. A container seen for the first time within one resolution
// of its start uses (start time, 0 CPU) as its previous point, so fresh pods get metrics one
// scrape earlier; a restarted container (start time after the stored point) starts over.
import type { MetricsPoint, NodeScrape, PodKey } from './decode.js';

/** A fresh container's start-time point is only trusted once it has run this long (metrics-server's 10 s). */
export const FRESH_CONTAINER_MIN_WINDOW_MS = 10_000;

export interface Usage {
  /** CPU in nanocores. */
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface NodeUsage extends Usage {
  timestampMs: number;
  windowMs: number;
}

export interface PodUsage {
  timestampMs: number;
  windowMs: number;
  containers: { name: string; usage: Usage }[];
}

/** Usage between two points; undefined when the counter went backwards or no time passed. */
export function usageBetween(last: MetricsPoint, prev: MetricsPoint): (Usage & { windowMs: number }) | undefined {
  if (last.cumulativeCpuNs < prev.cumulativeCpuNs) return undefined;
  const windowMs = last.timestampMs - prev.timestampMs;
  if (windowMs <= 0) return undefined;
  const cpuNanoCores = Math.floor(((last.cumulativeCpuNs - prev.cumulativeCpuNs) * 1000) / windowMs);
  return { cpuNanoCores, memoryBytes: last.memoryBytes, windowMs };
}

/** The previous point to keep when newPoint replaces last (metrics-server's storage rules). */
function nextPrev(newPoint: MetricsPoint, last: MetricsPoint | undefined, prev: MetricsPoint | undefined): MetricsPoint | undefined {
  if (!last) return undefined;
  if (newPoint.timestampMs > last.timestampMs) return last;
  if (prev && prev.timestampMs < newPoint.timestampMs) return prev;
  return undefined;
}

export class MetricsStore {
  private lastNodes = new Map<string, MetricsPoint>();
  private prevNodes = new Map<string, MetricsPoint>();
  private lastPods = new Map<PodKey, Map<string, MetricsPoint>>();
  private prevPods = new Map<PodKey, Map<string, MetricsPoint>>();

  constructor(private readonly resolutionMs: number) {}

  /**
   * Replaces the store's view with one scrape round: node name -> its scrape. Nodes (and their
   * pods) missing from the round are forgotten, as metrics-server forgets failed nodes.
   */
  storeRound(round: Map<string, NodeScrape>): void {
    const lastNodes = new Map<string, MetricsPoint>();
    const prevNodes = new Map<string, MetricsPoint>();
    const lastPods = new Map<PodKey, Map<string, MetricsPoint>>();
    const prevPods = new Map<PodKey, Map<string, MetricsPoint>>();
    for (const [nodeName, scrape] of round) {
      if (scrape.node) {
        lastNodes.set(nodeName, scrape.node);
        const p = nextPrev(scrape.node, this.lastNodes.get(nodeName), this.prevNodes.get(nodeName));
        if (p) prevNodes.set(nodeName, p);
      }
      for (const [key, containers] of scrape.pods) {
        if (lastPods.has(key)) continue; // the same pod reported by two nodes: keep the first
        lastPods.set(key, containers);
        const oldLast = this.lastPods.get(key);
        const oldPrev = this.prevPods.get(key);
        const prev = new Map<string, MetricsPoint>();
        for (const [name, point] of containers) {
          const sinceStart = point.timestampMs - point.startTimeMs;
          if (point.startTimeMs > 0 && sinceStart > 0 && sinceStart < this.resolutionMs && sinceStart >= FRESH_CONTAINER_MIN_WINDOW_MS) {
            prev.set(name, { ...point, timestampMs: point.startTimeMs, cumulativeCpuNs: 0 });
            continue;
          }
          const l = oldLast?.get(name);
          // A container that restarted since the stored point starts over.
          if (!l || !(point.startTimeMs < l.timestampMs)) continue;
          const p = nextPrev(point, l, oldPrev?.get(name));
          if (p) prev.set(name, p);
        }
        if (prev.size) prevPods.set(key, prev);
      }
    }
    this.lastNodes = lastNodes;
    this.prevNodes = prevNodes;
    this.lastPods = lastPods;
    this.prevPods = prevPods;
  }

  nodeUsage(name: string): NodeUsage | undefined {
    const last = this.lastNodes.get(name);
    const prev = this.prevNodes.get(name);
    if (!last || !prev) return undefined;
    const u = usageBetween(last, prev);
    return u && { cpuNanoCores: u.cpuNanoCores, memoryBytes: u.memoryBytes, timestampMs: last.timestampMs, windowMs: u.windowMs };
  }

  /** Usage of every container of the pod, or undefined unless all of them have two points. */
  podUsage(namespace: string, name: string): PodUsage | undefined {
    const key = `${namespace}/${name}`;
    const last = this.lastPods.get(key);
    const prev = this.prevPods.get(key);
    if (!last || !prev) return undefined;
    const containers: PodUsage['containers'] = [];
    let timestampMs = Infinity;
    let windowMs = 0;
    for (const [c, l] of last) {
      const p = prev.get(c);
      if (!p) return undefined;
      const u = usageBetween(l, p);
      if (!u) return undefined;
      containers.push({ name: c, usage: { cpuNanoCores: u.cpuNanoCores, memoryBytes: u.memoryBytes } });
      // The pod's time info is its earliest container's, as metrics-server reports it.
      if (l.timestampMs < timestampMs) {
        timestampMs = l.timestampMs;
        windowMs = u.windowMs;
      }
    }
    return { timestampMs, windowMs, containers };
  }

  /** Whether any node has usable metrics yet. */
  get nodeCount(): number {
    return this.prevNodes.size;
  }
}

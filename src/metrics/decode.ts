// One kubelet /metrics/resource scrape turned into metric points, as metrics-server decodes it:
// cumulative CPU (nanoseconds) and working-set memory per node and per container, each with
// the sample's timestamp and, for containers, the start time (to spot restarts).
import { parsePrometheusText } from './prometheus-text.js';

export interface MetricsPoint {
  /** When the measured thing started (0 when unknown), ms since the epoch. */
  startTimeMs: number;
  /** When CPU was sampled, ms since the epoch. */
  timestampMs: number;
  /** Cumulative CPU time, nanoseconds. */
  cumulativeCpuNs: number;
  memoryBytes: number;
}

/** "namespace/name" */
export type PodKey = string;

export interface NodeScrape {
  node?: MetricsPoint;
  /** Pods whose every container reported both CPU and memory: container name -> point. */
  pods: Map<PodKey, Map<string, MetricsPoint>>;
}

const WANTED = new Set([
  'node_cpu_usage_seconds_total',
  'node_memory_working_set_bytes',
  'container_cpu_usage_seconds_total',
  'container_memory_working_set_bytes',
  'container_start_time_seconds',
]);

interface Partial {
  start?: number;
  ts?: number;
  cpu?: number;
  mem?: number;
}

/** Decodes the body of a scrape taken at scrapeTimeMs (used for samples without timestamps). */
export function decodeResourceMetrics(text: string, scrapeTimeMs: number): NodeScrape {
  const node: Partial = {};
  const containers = new Map<PodKey, Map<string, Partial>>();
  const containerOf = (l: Record<string, string>): Partial | undefined => {
    if (!l.namespace || !l.pod || !l.container) return undefined;
    const key = `${l.namespace}/${l.pod}`;
    let pod = containers.get(key);
    if (!pod) containers.set(key, (pod = new Map()));
    let c = pod.get(l.container);
    if (!c) pod.set(l.container, (c = {}));
    return c;
  };
  for (const s of parsePrometheusText(text, WANTED)) {
    if (!Number.isFinite(s.value) || s.value < 0) continue;
    switch (s.name) {
      case 'node_cpu_usage_seconds_total':
        node.cpu = Math.round(s.value * 1e9);
        node.ts = s.timestampMs ?? scrapeTimeMs;
        break;
      case 'node_memory_working_set_bytes':
        node.mem = s.value;
        break;
      case 'container_cpu_usage_seconds_total': {
        const c = containerOf(s.labels);
        if (c) {
          c.cpu = Math.round(s.value * 1e9);
          c.ts = s.timestampMs ?? scrapeTimeMs;
        }
        break;
      }
      case 'container_memory_working_set_bytes': {
        const c = containerOf(s.labels);
        if (c) c.mem = s.value;
        break;
      }
      case 'container_start_time_seconds': {
        const c = containerOf(s.labels);
        if (c) c.start = Math.round(s.value * 1000);
        break;
      }
    }
  }
  const out: NodeScrape = { pods: new Map() };
  if (node.cpu !== undefined && node.mem !== undefined) {
    out.node = { startTimeMs: 0, timestampMs: node.ts!, cumulativeCpuNs: node.cpu, memoryBytes: node.mem };
  }
  for (const [key, list] of containers) {
    const points = new Map<string, MetricsPoint>();
    let complete = true;
    for (const [name, c] of list) {
      // A container with no CPU or memory sample (or both zero: not really running yet) makes the pod's view partial.
      if (c.cpu === undefined || c.mem === undefined || (c.cpu === 0 && c.mem === 0)) {
        complete = false;
        break;
      }
      points.set(name, { startTimeMs: c.start ?? 0, timestampMs: c.ts!, cumulativeCpuNs: c.cpu, memoryBytes: c.mem });
    }
    if (complete && points.size) out.pods.set(key, points);
  }
  return out;
}

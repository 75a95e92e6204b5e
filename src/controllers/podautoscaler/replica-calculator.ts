// How many replicas a resource metric asks for (upstream pkg/controller/podautoscaler/
// replica_calculator.go): the usage/target ratio over ready pods with metrics, a tolerance
// band around 1 inside which nothing changes, and conservative handling of pods without
// metrics (assumed at target on the way down, idle on the way up) and of unready pods (idle,
// and only when scaling up), so missing data never flips the direction of a scale.
import type { KObject } from '../../api/types.js';
import { parseQuantity } from '../resourcequota/quantity.js';

/** One pod's usage of a resource: milli-units (100m CPU = 100, 1Ki memory = 1024000). */
export interface PodMetric {
  value: number;
  /** When the sample was taken (ms) and the window it covers. */
  timestamp: number;
  windowMs: number;
}
export type PodMetricsInfo = Map<string, PodMetric>;

export const DEFAULT_TOLERANCE = 0.1;
/** Upstream --horizontal-pod-autoscaler-cpu-initialization-period and initial-readiness-delay. */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;

export interface CalcOptions {
  tolerance?: number;
  now?: number;
}

/** What one resource metric computes: the replica count and the current value for status. */
export interface ResourceReplicas {
  replicas: number;
  /** Average utilization in percent of requests (utilization targets). */
  utilization?: number;
  /** Average raw usage per pod, milli-units. */
  rawAverage: number;
  timestamp: number;
}

export interface ResourceTarget {
  /** Percent of requests (type Utilization)... */
  utilization?: number;
  /** ...or average milli-units per pod (type AverageValue). */
  averageMilli?: number;
}

function readyCondition(pod: KObject): any {
  return (pod.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
}

/** Splits pods into ready-with-metrics, unready, missing metrics and ignored (upstream groupPods). */
export function groupPods(pods: KObject[], metrics: PodMetricsInfo, resource: string, now: number) {
  let readyPodCount = 0;
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata!.name!;
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = readyCondition(pod);
      const start = Date.parse(pod.status?.startTime ?? '');
      let isUnready: boolean;
      if (!cond || isNaN(start)) isUnready = true;
      else {
        const transition = Date.parse(cond.lastTransitionTime ?? '') || 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now) {
          // Still initializing: skip unready pods and samples older than the last transition.
          isUnready = cond.status === 'False' || metric.timestamp < transition + metric.windowMs;
        } else {
          // Past initialization: skip only pods that never became ready.
          isUnready = cond.status === 'False' && start + INITIAL_READINESS_DELAY_MS > transition;
        }
      }
      if (isUnready) {
        unready.add(name);
        continue;
      }
    }
    readyPodCount++;
  }
  return { readyPodCount, unready, missing, ignored };
}

/** Sum of the containers' requests of resource per pod, milli-units (throws when one lacks it). */
export function podRequests(pods: KObject[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const q = parseQuantity(c.resources?.requests?.[resource]);
      if (!q) throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata!.name}`);
      sum += Number(q.milli);
    }
    out.set(pod.metadata!.name!, sum);
  }
  return out;
}

/** Ratio of current to target usage, the utilization in percent and the raw average. */
function usageRatio(metrics: PodMetricsInfo, requests: Map<string, number>, target: ResourceTarget) {
  if (target.utilization !== undefined) {
    let requestsTotal = 0;
    let metricsTotal = 0;
    let n = 0;
    for (const [name, m] of metrics) {
      const req = requests.get(name);
      if (req === undefined) continue;
      requestsTotal += req;
      metricsTotal += m.value;
      n++;
    }
    if (requestsTotal === 0) throw new Error('no metrics returned matched known pods');
    const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
    return { ratio: utilization / target.utilization, utilization, rawAverage: Math.trunc(metricsTotal / n) };
  }
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const avg = total / metrics.size;
  return { ratio: avg / target.averageMilli!, utilization: undefined, rawAverage: Math.trunc(avg) };
}

/** Desired replicas for a resource metric target (upstream GetResourceReplicas / GetRawResourceReplicas). */
export function calcResourceReplicas(
  currentReplicas: number,
  target: ResourceTarget,
  resource: string,
  pods: KObject[],
  fetched: PodMetricsInfo,
  opts: CalcOptions & { container?: string } = {},
): ResourceReplicas {
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const now = opts.now ?? Date.now();
  if (!pods.length) throw new Error('no pods returned by selector while calculating replica count');
  // Only metrics of the target's pods count.
  const metrics: PodMetricsInfo = new Map();
  const names = new Set(pods.map((p) => p.metadata!.name!));
  for (const [k, v] of fetched) if (names.has(k)) metrics.set(k, v);
  let timestamp = 0;
  for (const m of metrics.values()) timestamp = Math.max(timestamp, m.timestamp);

  const { readyPodCount, unready, missing, ignored } = groupPods(pods, metrics, resource, now);
  for (const n of [...unready, ...ignored]) metrics.delete(n);
  if (!metrics.size) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const requests = target.utilization !== undefined ? podRequests(pods, resource, opts.container) : new Map<string, number>();

  const first = usageRatio(metrics, requests, target);
  const result = (replicas: number): ResourceReplicas => ({ replicas, utilization: first.utilization, rawAverage: first.rawAverage, timestamp });
  const scaleUpWithUnready = unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return result(currentReplicas);
    return result(Math.ceil(first.ratio * readyPodCount));
  }
  if (missing.size) {
    for (const n of missing) {
      // Scaling down: assume the missing pods sit at the target; scaling up: idle.
      const atTarget = target.utilization !== undefined ? requests.get(n) ?? 0 : target.averageMilli!;
      metrics.set(n, { value: first.ratio < 1 ? atTarget : 0, timestamp, windowMs: 0 });
    }
  }
  if (scaleUpWithUnready) for (const n of unready) metrics.set(n, { value: 0, timestamp, windowMs: 0 });
  const next = usageRatio(metrics, requests, target).ratio;
  if (Math.abs(1 - next) <= tolerance || (first.ratio < 1 && next > 1) || (first.ratio > 1 && next < 1)) return result(currentReplicas);
  const replicas = Math.ceil(next * metrics.size);
  if ((next < 1 && replicas > currentReplicas) || (next > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}

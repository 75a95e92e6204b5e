// NodeResourcesFit (upstream plugins/noderesources/fit.go): Filter rejects nodes without room for
// the pod's requests ("Insufficient cpu", "Too many pods", ...); Score ranks nodes with the
// configured scoring strategy: LeastAllocated (default), MostAllocated or RequestedToCapacityRatio.
import { podRequests } from '../framework/node-info.js';
import {
  Code,
  MAX_NODE_SCORE,
  Status,
  type ClusterEvent,
  type CycleState,
  type NodeInfo,
  type Plugin,
  type PluginFactory,
  type Pod,
  type Resources,
} from '../framework/types.js';
import {
  DEFAULT_RESOURCES,
  isExtendedResourceName,
  podResourceRequestList,
  resourceAllocationScore,
  type ResourceScorer,
  type ResourceSpec,
} from './helpers/resource-allocation.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
const PRE_FILTER_KEY = 'PreFilter' + NODE_RESOURCES_FIT;
const PRE_SCORE_KEY = 'PreScore' + NODE_RESOURCES_FIT;

export type ScoringStrategyType = 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';

export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

/** KubeSchedulerConfiguration's NodeResourcesFitArgs (kubescheduler.config.k8s.io/v1). */
export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: ScoringStrategyType;
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape?: UtilizationShapePoint[] };
  };
}

/** Upstream's MaxCustomPriorityScore: shape scores are 0..10, scaled to 0..MAX_NODE_SCORE. */
export const MAX_CUSTOM_PRIORITY_SCORE = 10;
const MAX_UTILIZATION = 100;

/** Why a pod does not fit; `unresolvable` when the request exceeds the node's whole allocatable. */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  unresolvable: boolean;
}

/**
 * What does not fit when the pod (with the given effective requests) is added to the node.
 * ignored* apply to extended resources only, as upstream.
 */
export function fitsRequest(
  req: Resources,
  ni: NodeInfo,
  ignoredResources?: ReadonlySet<string>,
  ignoredResourceGroups?: ReadonlySet<string>,
): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = ni.allocatable;
  const used = ni.requested;
  if (ni.pods.length + 1 > alloc.pods) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: ni.pods.length, capacity: alloc.pods, unresolvable: false });
  }
  const scalarNames = Object.keys(req.scalar);
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && scalarNames.length === 0) return out;
  const check = (name: string, reason: string, r: number, u: number, c: number) => {
    if (r > 0 && r > c - u) out.push({ resourceName: name, reason, requested: r, used: u, capacity: c, unresolvable: r > c });
  };
  check('cpu', 'Insufficient cpu', req.milliCPU, used.milliCPU, alloc.milliCPU);
  check('memory', 'Insufficient memory', req.memory, used.memory, alloc.memory);
  check('ephemeral-storage', 'Insufficient ephemeral-storage', req.ephemeralStorage, used.ephemeralStorage, alloc.ephemeralStorage);
  for (const name of scalarNames) {
    const q = req.scalar[name];
    if (q === 0) continue;
    if (isExtendedResourceName(name)) {
      if (ignoredResources?.has(name)) continue;
      if (ignoredResourceGroups?.size && ignoredResourceGroups.has(name.split('/')[0])) continue;
    }
    check(name, `Insufficient ${name}`, q, used.scalar[name] ?? 0, alloc.scalar[name] ?? 0);
  }
  return out;
}

/** Filter's fast path: true when the pod surely fits (no extended resources, room for everything). */
function fitsWithoutScalars(req: Resources, ni: NodeInfo): boolean {
  for (const _ in req.scalar) return false;
  const alloc = ni.allocatable;
  const used = ni.requested;
  if (ni.pods.length + 1 > alloc.pods) return false;
  return (
    (req.milliCPU <= 0 || req.milliCPU <= alloc.milliCPU - used.milliCPU) &&
    (req.memory <= 0 || req.memory <= alloc.memory - used.memory) &&
    (req.ephemeralStorage <= 0 || req.ephemeralStorage <= alloc.ephemeralStorage - used.ephemeralStorage)
  );
}

/** Convenience for other components (kubelet admission, autoscaler-like checks). */
export function fits(pod: Pod, ni: NodeInfo): InsufficientResource[] {
  return fitsRequest(podRequests(pod), ni);
}

function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  // Pods without requests count at the non-zero defaults, so requested may exceed capacity.
  if (requested > capacity) requested = capacity;
  return Math.trunc((requested * MAX_NODE_SCORE) / capacity);
}

function weightedIntegerMean(resources: readonly ResourceSpec[], per: (requested: number, capacity: number) => number): ResourceScorer {
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      nodeScore += per(requested[i], allocatable[i]) * resources[i].weight;
      weightSum += resources[i].weight;
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
  };
}

export function leastAllocatedScorer(resources: readonly ResourceSpec[]): ResourceScorer {
  return weightedIntegerMean(resources, leastRequestedScore);
}

export function mostAllocatedScorer(resources: readonly ResourceSpec[]): ResourceScorer {
  return weightedIntegerMean(resources, mostRequestedScore);
}

/** Upstream's BuildBrokenLinearFunction: piecewise linear through the points, flat outside them (integer math). */
export function brokenLinearFunction(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i].utilization) {
        if (i === 0) return shape[0].score;
        const a = shape[i - 1];
        const b = shape[i];
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1].score;
  };
}

export function requestedToCapacityRatioScorer(resources: readonly ResourceSpec[], shape: readonly UtilizationShapePoint[]): ResourceScorer {
  const scaled = shape.map((p) => ({ utilization: p.utilization, score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE) }));
  const raw = brokenLinearFunction(scaled);
  const perResource = (requested: number, capacity: number) =>
    capacity === 0 || requested > capacity ? raw(MAX_UTILIZATION) : raw(Math.trunc((requested * MAX_UTILIZATION) / capacity));
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const s = perResource(requested[i], allocatable[i]);
      if (s > 0) {
        nodeScore += s * resources[i].weight;
        weightSum += resources[i].weight;
      }
    }
    return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
  };
}

function validateResources(resources: readonly ResourceSpec[], path: string): void {
  resources.forEach((r, i) => {
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > MAX_NODE_SCORE)
      throw new Error(`${path}[${i}].weight: Invalid value: ${r.weight}: resource weight of ${r.name} should be in range [1, ${MAX_NODE_SCORE}]`);
  });
}

function validateShape(shape: readonly UtilizationShapePoint[]): void {
  if (shape.length === 0) throw new Error('scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified');
  shape.forEach((p, i) => {
    if (p.utilization < 0 || p.utilization > 100)
      throw new Error(`scoringStrategy.requestedToCapacityRatio.shape[${i}].utilization: Invalid value: ${p.utilization}: not in valid range [0, 100]`);
    if (i > 0 && p.utilization <= shape[i - 1].utilization)
      throw new Error(`scoringStrategy.requestedToCapacityRatio.shape[${i}].utilization: Invalid value: ${p.utilization}: utilization values must be sorted in increasing order`);
    if (p.score < 0 || p.score > MAX_CUSTOM_PRIORITY_SCORE)
      throw new Error(`scoringStrategy.requestedToCapacityRatio.shape[${i}].score: Invalid value: ${p.score}: not in valid range [0, ${MAX_CUSTOM_PRIORITY_SCORE}]`);
  });
}

/** Builds the strategy's scorer, applying v1 defaults and validation; throws on invalid args. */
export function scorerForStrategy(args: NodeResourcesFitArgs): { resources: ResourceSpec[]; scorer: ResourceScorer } {
  const type = args.scoringStrategy?.type ?? 'LeastAllocated';
  const resources = args.scoringStrategy?.resources?.length ? args.scoringStrategy.resources : [...DEFAULT_RESOURCES];
  validateResources(resources, 'scoringStrategy.resources');
  switch (type) {
    case 'LeastAllocated':
      return { resources, scorer: leastAllocatedScorer(resources) };
    case 'MostAllocated':
      return { resources, scorer: mostAllocatedScorer(resources) };
    case 'RequestedToCapacityRatio': {
      const shape = args.scoringStrategy?.requestedToCapacityRatio?.shape ?? [
        { utilization: 0, score: 10 },
        { utilization: 100, score: 0 },
      ];
      validateShape(shape);
      return { resources, scorer: requestedToCapacityRatioScorer(resources, shape) };
    }
    default:
      throw new Error(`scoringStrategy.type: Unsupported value: "${type}": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`);
  }
}

export const newNodeResourcesFit: PluginFactory = (rawArgs) => {
  const args = (rawArgs ?? {}) as NodeResourcesFitArgs;
  const ignoredResources = new Set(args.ignoredResources ?? []);
  const ignoredResourceGroups = new Set(args.ignoredResourceGroups ?? []);
  const { resources, scorer } = scorerForStrategy(args);

  const requestsFor = (state: CycleState, pod: Pod): Resources => state.read<Resources>(PRE_FILTER_KEY) ?? podRequests(pod);
  const scoreRequestsFor = (state: CycleState, pod: Pod): number[] =>
    state.read<number[]>(PRE_SCORE_KEY) ?? podResourceRequestList(pod, resources, false);

  const plugin: Plugin = {
    name: NODE_RESOURCES_FIT,
    preFilter(state, pod) {
      state.write(PRE_FILTER_KEY, podRequests(pod));
      return { status: Status.success() };
    },
    filter(state, pod, node) {
      const req = requestsFor(state, pod);
      if (fitsWithoutScalars(req, node)) return Status.success();
      const insufficient = fitsRequest(req, node, ignoredResources, ignoredResourceGroups);
      if (insufficient.length === 0) return Status.success();
      const code = insufficient.some((r) => r.unresolvable) ? Code.UnschedulableAndUnresolvable : Code.Unschedulable;
      return new Status(code, insufficient.map((r) => r.reason));
    },
    preScore(state, pod) {
      state.write(PRE_SCORE_KEY, podResourceRequestList(pod, resources, false));
      return Status.success();
    },
    score(state, pod, node) {
      return { score: resourceAllocationScore(node, resources, scoreRequestsFor(state, pod), scorer, false), status: Status.success() };
    },
    eventsToRegister(): ClusterEvent[] {
      return [
        { resource: 'Pod', action: 'Delete' },
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'UpdateNodeAllocatable' },
        { resource: 'Node', action: 'UpdateNodeTaint' },
        { resource: 'Node', action: 'UpdateNodeLabel' },
      ];
    },
  };
  return plugin;
};

// NodeResourcesBalancedAllocation (upstream plugins/noderesources/balanced_allocation.go): favours
// nodes whose requested fractions of the configured resources stay close to each other, scored as
// (1 - standard deviation of the fractions) * 100. Best-effort pods are not scored.
import { MAX_NODE_SCORE, Status, type Plugin, type PluginFactory } from '../framework/types.js';
import {
  DEFAULT_RESOURCES,
  isBestEffort,
  podResourceRequestList,
  resourceAllocationScore,
  type ResourceSpec,
} from './helpers/resource-allocation.js';

export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';
const PRE_SCORE_KEY = 'PreScore' + NODE_RESOURCES_BALANCED_ALLOCATION;

/** KubeSchedulerConfiguration's NodeResourcesBalancedAllocationArgs. */
export interface NodeResourcesBalancedAllocationArgs {
  resources?: ResourceSpec[];
}

/**
 * (1 - std) * 100 over the fractions requested/allocatable (each capped at 1) of resources the node
 * has. For two resources std is |f1 - f2| / 2; one resource (or none) scores 100.
 */
export function balancedResourceScorer(requested: number[], allocatable: number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i] / allocatable[i]);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) {
    std = Math.abs((fractions[0] - fractions[1]) / 2);
  } else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export const newNodeResourcesBalancedAllocation: PluginFactory = (rawArgs) => {
  const args = (rawArgs ?? {}) as NodeResourcesBalancedAllocationArgs;
  const resources = args.resources?.length ? args.resources : [...DEFAULT_RESOURCES];
  resources.forEach((r, i) => {
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > MAX_NODE_SCORE)
      throw new Error(`resources[${i}].weight: Invalid value: ${r.weight}: resource weight of ${r.name} should be in range [1, ${MAX_NODE_SCORE}]`);
  });
  const plugin: Plugin = {
    name: NODE_RESOURCES_BALANCED_ALLOCATION,
    preScore(state, pod) {
      const requests = podResourceRequestList(pod, resources, true);
      // Scoring best-effort pods here would pile them onto one node (kubernetes#129138).
      if (isBestEffort(requests)) return Status.skip();
      state.write(PRE_SCORE_KEY, requests);
      return Status.success();
    },
    score(state, pod, node) {
      let requests = state.read<number[]>(PRE_SCORE_KEY);
      if (!requests) {
        requests = podResourceRequestList(pod, resources, true);
        if (isBestEffort(requests)) return { score: 0, status: Status.success() };
      }
      return { score: resourceAllocationScore(node, resources, requests, balancedResourceScorer, true), status: Status.success() };
    },
  };
  return plugin;
};

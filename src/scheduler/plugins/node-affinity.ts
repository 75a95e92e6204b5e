// NodeAffinity (upstream plugins/nodeaffinity): Filter enforces spec.nodeSelector, required node
// affinity and the profile's addedAffinity; PreFilter narrows the candidate nodes when every term
// pins metadata.name; Score sums the weights of matching preferred terms, normalized to 0..100.
import { MAX_NODE_SCORE, Status, type Plugin, type PluginFactory, type Pod } from '../framework/types.js';
import {
  MATCH_ALL,
  OBJECT_NAME_FIELD,
  compileNodeSelector,
  compilePreferredSchedulingTerms,
  requiredNodeAffinity,
  type NodeMatcher,
  type NodeSelector,
  type NodeSelectorTerm,
  type PreferredSchedulingTerm,
  type PreferredTermsScorer,
} from './helpers/node-selector.js';
import { defaultNormalizeScore } from './helpers/normalize-score.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const NODE_AFFINITY_ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
export const NODE_AFFINITY_ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity";
export const NODE_AFFINITY_ERR_REASON_CONFLICT = 'pod affinity terms conflict';
const PRE_FILTER_KEY = 'PreFilter' + NODE_AFFINITY;
const PRE_SCORE_KEY = 'PreScore' + NODE_AFFINITY;

/** KubeSchedulerConfiguration's NodeAffinityArgs. */
export interface NodeAffinityArgs {
  addedAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
    preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
  };
}

/**
 * Node names the required terms allow when every term names nodes through matchFields
 * metadata.name In (intersected within a term, united across terms); undefined when any term
 * leaves all nodes eligible.
 */
export function nodeNamesFromRequiredTerms(terms: readonly NodeSelectorTerm[]): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== OBJECT_NAME_FIELD || r.operator !== 'In') continue;
      const s = new Set(r.values ?? []);
      termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
    }
    if (!termNames) return undefined;
    names ??= new Set();
    for (const n of termNames) names.add(n);
  }
  return names;
}

export const newNodeAffinity: PluginFactory = (rawArgs) => {
  const args = (rawArgs ?? {}) as NodeAffinityArgs;
  const addedRequired = args.addedAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const addedNodeSelector: NodeMatcher | undefined = addedRequired ? compileNodeSelector(addedRequired) : undefined;
  const addedPreferred = compilePreferredSchedulingTerms(args.addedAffinity?.preferredDuringSchedulingIgnoredDuringExecution);

  const preferredFor = (pod: Pod): PreferredTermsScorer | undefined =>
    compilePreferredSchedulingTerms(pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution);

  const plugin: Plugin = {
    name: NODE_AFFINITY,
    preFilter(state, pod) {
      const required: NodeSelector | undefined = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
      if (!required && !addedNodeSelector && !pod.spec?.nodeSelector) return { status: Status.skip() };
      state.write(PRE_FILTER_KEY, requiredNodeAffinity(pod));
      const terms = required?.nodeSelectorTerms ?? [];
      if (terms.length === 0) return { status: Status.success() };
      const names = nodeNamesFromRequiredTerms(terms);
      if (!names) return { status: Status.success() };
      if (names.size === 0) return { status: Status.unresolvable(NODE_AFFINITY_ERR_REASON_CONFLICT) };
      return { result: { nodeNames: names }, status: Status.success() };
    },
    filter(state, pod, node) {
      if (addedNodeSelector && !addedNodeSelector.matches(node.node)) return Status.unresolvable(NODE_AFFINITY_ERR_REASON_ENFORCED);
      const matcher = state.read<NodeMatcher>(PRE_FILTER_KEY) ?? requiredNodeAffinity(pod);
      if (matcher !== MATCH_ALL && !matcher.matches(node.node)) return Status.unresolvable(NODE_AFFINITY_ERR_REASON_POD);
      return Status.success();
    },
    preScore(state, pod, nodes) {
      if (nodes.length === 0) return Status.success();
      const preferred = preferredFor(pod);
      if (!preferred && !addedPreferred) return Status.skip();
      state.write(PRE_SCORE_KEY, { preferred });
      return Status.success();
    },
    score(state, pod, node) {
      const s = state.read<{ preferred?: PreferredTermsScorer }>(PRE_SCORE_KEY) ?? { preferred: preferredFor(pod) };
      let count = 0;
      if (addedPreferred) count += addedPreferred.score(node.node);
      if (s.preferred) count += s.preferred.score(node.node);
      return { score: count, status: Status.success() };
    },
    normalizeScore(_state, _pod, scores) {
      defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
      return Status.success();
    },
    eventsToRegister() {
      return [
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'UpdateNodeLabel' },
        { resource: 'Node', action: 'UpdateNodeTaint' },
      ];
    },
  };
  return plugin;
};

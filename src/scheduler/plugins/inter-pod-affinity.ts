// InterPodAffinity (upstream: pkg/scheduler/framework/plugins/interpodaffinity): required pod
// affinity / anti-affinity as a filter, preferred terms as a score.
//
// PreFilter counts, per topology pair (key, value):
//  - existing pods matching every required affinity term of the incoming pod,
//  - existing pods matching each required anti-affinity term of the incoming pod,
//  - existing pods whose required anti-affinity terms match the incoming pod (symmetry),
// so Filter is a few map lookups per node. AddPod/RemovePod keep the counts right while
// preemption simulates removing victims.
import { podInfo as buildPodInfo } from '../framework/node-info.js';
import {
  type AffinityTerm,
  type ClusterEvent,
  type CycleState,
  type Handle,
  type Node,
  type NodeInfo,
  type NodeScore,
  type Plugin,
  type PluginArgs,
  type PluginFactory,
  type Pod,
  type PodInfo,
  type WeightedAffinityTerm,
  MAX_NODE_SCORE,
  Status,
} from '../framework/types.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';

export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";

const PRE_FILTER_KEY = 'PreFilter' + INTER_POD_AFFINITY;
const PRE_SCORE_KEY = 'PreScore' + INTER_POD_AFFINITY;

type Labels = Record<string, string>;
type Selector = { matches(labels: Labels | undefined): boolean };

export interface InterPodAffinityArgs {
  /** Score weight of an existing pod's required affinity term that the incoming pod matches (0..100, default 1). */
  hardPodAffinityWeight?: number;
  /** Skip existing pods' preferred terms when the incoming pod has no preferred terms of its own. */
  ignorePreferredTermsOfExistingPods?: boolean;
}

/** (topologyKey, value) as one map key; label keys and values cannot contain NUL. */
const pairKey = (key: string, value: string) => `${key}\0${value}`;

function isEmptySelector(s: Selector): boolean {
  const reqs = (s as { requirements?: unknown[] }).requirements;
  return Array.isArray(reqs) && reqs.length === 0;
}

/**
 * Upstream's AffinityTerm.Matches: the pod's namespace is listed or selected by the term's
 * namespaceSelector, and its labels match the term's selector. nsLabels are the labels of the
 * pod's namespace (undefined when unknown: only an empty namespaceSelector then selects it).
 */
export function affinityTermMatches(term: AffinityTerm, pod: Pod, nsLabels: Labels | undefined): boolean {
  const ns = pod.metadata?.namespace ?? 'default';
  let nsOk = term.namespaces.has(ns);
  if (!nsOk && term.namespaceSelector) {
    nsOk = isEmptySelector(term.namespaceSelector) || (nsLabels !== undefined && term.namespaceSelector.matches(nsLabels));
  }
  return nsOk && term.selector.matches(pod.metadata?.labels);
}

function nodeLabels(node: Node): Labels {
  return node.metadata?.labels ?? {};
}

/** Cached namespace label lookups for one cycle. */
function namespaceLabelCache(handle: Handle): (ns: string) => Labels | undefined {
  const cache = new Map<string, Labels | undefined>();
  return (ns) => {
    if (!cache.has(ns)) cache.set(ns, handle.listers.namespaceLabels(ns));
    return cache.get(ns);
  };
}

const podNamespace = (p: Pod) => p.metadata?.namespace ?? 'default';

class TopologyCounts extends Map<string, number> {
  bump(key: string, value: string, delta: number): void {
    const k = pairKey(key, value);
    const n = (this.get(k) ?? 0) + delta;
    if (n === 0) this.delete(k);
    else this.set(k, n);
  }
  count(key: string, value: string): number {
    return this.get(pairKey(key, value)) ?? 0;
  }
  copy(): TopologyCounts {
    return new TopologyCounts(this);
  }
}

class PreFilterState {
  constructor(
    readonly podInfo: PodInfo,
    readonly nsLabels: Labels | undefined,
    readonly nsLabelsOf: (ns: string) => Labels | undefined,
    readonly existingAntiAffinityCounts = new TopologyCounts(),
    readonly affinityCounts = new TopologyCounts(),
    readonly antiAffinityCounts = new TopologyCounts(),
  ) {}

  /** Preemption evaluates each node on its own copy. */
  clone(): PreFilterState {
    return new PreFilterState(
      this.podInfo,
      this.nsLabels,
      this.nsLabelsOf,
      this.existingAntiAffinityCounts.copy(),
      this.affinityCounts.copy(),
      this.antiAffinityCounts.copy(),
    );
  }

  /** Counts `other` (an existing pod on `node`) in or out with multiplier ±1. */
  updateWithPod(other: PodInfo, node: Node, multiplier: number): void {
    const labels = nodeLabels(node);
    // The other pod's anti-affinity toward the incoming pod.
    for (const t of other.requiredAntiAffinityTerms ?? []) {
      if (affinityTermMatches(t, this.podInfo.pod, this.nsLabels) && t.topologyKey in labels)
        this.existingAntiAffinityCounts.bump(t.topologyKey, labels[t.topologyKey], multiplier);
    }
    const otherNs = this.nsLabelsOf(podNamespace(other.pod));
    // The incoming pod's affinity counts a pod only when it matches all terms.
    const aff = this.podInfo.requiredAffinityTerms;
    if (aff && aff.every((t) => affinityTermMatches(t, other.pod, otherNs))) {
      for (const t of aff) if (t.topologyKey in labels) this.affinityCounts.bump(t.topologyKey, labels[t.topologyKey], multiplier);
    }
    for (const t of this.podInfo.requiredAntiAffinityTerms ?? []) {
      if (affinityTermMatches(t, other.pod, otherNs) && t.topologyKey in labels)
        this.antiAffinityCounts.bump(t.topologyKey, labels[t.topologyKey], multiplier);
    }
  }
}

class PreScoreState {
  /** topologyKey -> value -> accumulated weight. */
  readonly topologyScore = new Map<string, Map<string, number>>();
  add(key: string, value: string, delta: number): void {
    let m = this.topologyScore.get(key);
    if (!m) this.topologyScore.set(key, (m = new Map()));
    m.set(value, (m.get(value) ?? 0) + delta);
  }
  clone(): PreScoreState {
    return this;
  }
}

export const newInterPodAffinity: PluginFactory = (rawArgs: PluginArgs | undefined, handle: Handle): Plugin => {
  const args = (rawArgs ?? {}) as InterPodAffinityArgs;
  const hardPodAffinityWeight = args.hardPodAffinityWeight ?? 1;
  const ignorePreferredOfExisting = args.ignorePreferredTermsOfExistingPods ?? false;

  function satisfyPodAffinity(s: PreFilterState, labels: Labels): boolean {
    const terms = s.podInfo.requiredAffinityTerms;
    if (!terms) return true;
    let podsExist = true;
    for (const t of terms) {
      if (!(t.topologyKey in labels)) return false; // every topology key must be on the node
      if (s.affinityCounts.count(t.topologyKey, labels[t.topologyKey]) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // The first pod of a group with affinity to itself: allowed when no pod anywhere matches
    // the terms and the pod matches all of its own terms.
    return s.affinityCounts.size === 0 && terms.every((t) => affinityTermMatches(t, s.podInfo.pod, s.nsLabels));
  }

  function satisfyPodAntiAffinity(s: PreFilterState, labels: Labels): boolean {
    for (const t of s.podInfo.requiredAntiAffinityTerms ?? []) {
      if (t.topologyKey in labels && s.antiAffinityCounts.count(t.topologyKey, labels[t.topologyKey]) > 0) return false;
    }
    return true;
  }

  function satisfyExistingPodsAntiAffinity(s: PreFilterState, labels: Labels): boolean {
    if (s.existingAntiAffinityCounts.size === 0) return true;
    for (const [k, v] of Object.entries(labels)) if (s.existingAntiAffinityCounts.count(k, v) > 0) return false;
    return true;
  }

  /** Adds `weight * multiplier` to the topology of `node` when `target` matches `term`. */
  function scoreTerm(s: PreScoreState, term: AffinityTerm, weight: number, target: Pod, nsLabels: Labels | undefined, labels: Labels, multiplier: number) {
    if (!(term.topologyKey in labels)) return;
    if (affinityTermMatches(term, target, nsLabels)) s.add(term.topologyKey, labels[term.topologyKey], weight * multiplier);
  }
  function scoreTerms(s: PreScoreState, terms: WeightedAffinityTerm[] | undefined, target: Pod, nsLabels: Labels | undefined, labels: Labels, multiplier: number) {
    for (const t of terms ?? []) scoreTerm(s, t, t.weight, target, nsLabels, labels, multiplier);
  }

  return {
    name: INTER_POD_AFFINITY,

    preFilter(state: CycleState, pod: Pod, nodes: NodeInfo[]) {
      const pi = buildPodInfo(pod);
      const nsLabelsOf = namespaceLabelCache(handle);
      const s = new PreFilterState(pi, nsLabelsOf(podNamespace(pod)), nsLabelsOf);
      // With the snapshot's index, only pods (and terms) that can match are looked at.
      const index = nodes === handle.snapshot.nodes() ? handle.snapshot.podIndex?.() : undefined;
      // Existing pods' required anti-affinity that the incoming pod would violate.
      const countExisting = (existing: PodInfo, t: AffinityTerm, labels: Labels) => {
        if (t.topologyKey in labels && affinityTermMatches(t, pod, s.nsLabels)) s.existingAntiAffinityCounts.bump(t.topologyKey, labels[t.topologyKey], 1);
      };
      if (index) {
        index.antiAffinityCandidates(pod.metadata?.labels, (ref) => countExisting(ref.pi, ref.term, nodeLabels(ref.node.node)));
      } else {
        for (const ni of handle.snapshot.havePodsWithRequiredAntiAffinity()) {
          const labels = nodeLabels(ni.node);
          for (const existing of ni.podsWithRequiredAntiAffinity) for (const t of existing.requiredAntiAffinityTerms ?? []) countExisting(existing, t, labels);
        }
      }
      const aff = pi.requiredAffinityTerms;
      const anti = pi.requiredAntiAffinityTerms;
      // The incoming pod's affinity counts a pod only when it matches all terms.
      const countAffinity = (existing: PodInfo, labels: Labels) => {
        const nsl = nsLabelsOf(podNamespace(existing.pod));
        if (aff!.every((t) => affinityTermMatches(t, existing.pod, nsl))) {
          for (const t of aff!) if (t.topologyKey in labels) s.affinityCounts.bump(t.topologyKey, labels[t.topologyKey], 1);
        }
      };
      const countAnti = (existing: PodInfo, t: AffinityTerm, labels: Labels) => {
        if (t.topologyKey in labels && affinityTermMatches(t, existing.pod, nsLabelsOf(podNamespace(existing.pod))))
          s.antiAffinityCounts.bump(t.topologyKey, labels[t.topologyKey], 1);
      };
      if (aff) {
        // Candidates: the pods the most selective term's selector can match (all terms must match).
        let cands: Array<Map<PodInfo, NodeInfo>> | undefined;
        let best = Infinity;
        for (const t of index ? aff : []) {
          const c = index!.candidates(t.selector);
          const size = c ? c.reduce((n, m) => n + m.size, 0) : Infinity;
          if (size < best) [cands, best] = [c, size];
        }
        if (cands) {
          for (const m of cands) for (const [existing, ni] of m) countAffinity(existing, nodeLabels(ni.node));
        } else {
          for (const ni of nodes) {
            const labels = nodeLabels(ni.node);
            for (const existing of ni.pods) countAffinity(existing, labels);
          }
        }
      }
      for (const t of anti ?? []) {
        const cands = index?.candidates(t.selector);
        if (cands) {
          for (const m of cands) for (const [existing, ni] of m) countAnti(existing, t, nodeLabels(ni.node));
        } else {
          for (const ni of nodes) {
            const labels = nodeLabels(ni.node);
            for (const existing of ni.pods) countAnti(existing, t, labels);
          }
        }
      }
      if (s.existingAntiAffinityCounts.size === 0 && !pi.requiredAffinityTerms && !pi.requiredAntiAffinityTerms) {
        return { status: Status.skip() };
      }
      state.write(PRE_FILTER_KEY, s);
      return { status: Status.success() };
    },

    addPod(state, _pod, toAdd, node) {
      state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(toAdd, node.node, 1);
      return Status.success();
    },

    removePod(state, _pod, toRemove, node) {
      state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(toRemove, node.node, -1);
      return Status.success();
    },

    filter(state, _pod, node) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return Status.error(`error reading "${PRE_FILTER_KEY}" from cycleState: not found`);
      const labels = nodeLabels(node.node);
      if (!satisfyPodAffinity(s, labels)) return Status.unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
      if (!satisfyPodAntiAffinity(s, labels)) return Status.unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
      if (!satisfyExistingPodsAntiAffinity(s, labels)) return Status.unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
      return Status.success();
    },

    preScore(state, pod, nodes) {
      if (nodes.length === 0) return Status.skip();
      const pi = buildPodInfo(pod);
      const hasConstraints = !!(pi.preferredAffinityTerms || pi.preferredAntiAffinityTerms);
      if (ignorePreferredOfExisting && !hasConstraints) return Status.skip();
      const nsLabelsOf = namespaceLabelCache(handle);
      const incomingNsLabels = nsLabelsOf(podNamespace(pod));
      const s = new PreScoreState();
      const scoreExisting = (existing: PodInfo, labels: Labels) => {
        const existingNs = nsLabelsOf(podNamespace(existing.pod));
        scoreTerms(s, pi.preferredAffinityTerms, existing.pod, existingNs, labels, 1);
        scoreTerms(s, pi.preferredAntiAffinityTerms, existing.pod, existingNs, labels, -1);
        if (hardPodAffinityWeight > 0) {
          for (const t of existing.requiredAffinityTerms ?? []) scoreTerm(s, t, hardPodAffinityWeight, pod, incomingNsLabels, labels, 1);
        }
        scoreTerms(s, existing.preferredAffinityTerms, pod, incomingNsLabels, labels, 1);
        scoreTerms(s, existing.preferredAntiAffinityTerms, pod, incomingNsLabels, labels, -1);
      };
      const index = handle.snapshot.podIndex?.();
      if (!hasConstraints && index) {
        // Without preferred terms of its own, only pods with required affinity or preferred
        // terms can contribute (the index keeps those).
        for (const [existing, ni] of index.podsWithScoringTerms()) {
          const labels = nodeLabels(ni.node);
          for (const _ in labels) {
            scoreExisting(existing, labels);
            break;
          }
        }
      } else {
        const candidates = hasConstraints ? handle.snapshot.nodes() : handle.snapshot.havePodsWithAffinity();
        for (const ni of candidates) {
          const labels = nodeLabels(ni.node);
          if (Object.keys(labels).length === 0) continue;
          for (const existing of hasConstraints ? ni.pods : ni.podsWithAffinity) scoreExisting(existing, labels);
        }
      }
      if (s.topologyScore.size === 0) return Status.skip();
      state.write(PRE_SCORE_KEY, s);
      return Status.success();
    },

    score(state, _pod, node) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return { score: 0, status: Status.error(`error reading "${PRE_SCORE_KEY}" from cycleState: not found`) };
      const labels = nodeLabels(node.node);
      let score = 0;
      for (const [key, values] of s.topologyScore) if (key in labels) score += values.get(labels[key]) ?? 0;
      return { score, status: Status.success() };
    },

    normalizeScore(state, _pod, scores: NodeScore[]) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s || s.topologyScore.size === 0) return Status.success();
      let min = Infinity;
      let max = -Infinity;
      for (const { score } of scores) {
        if (score > max) max = score;
        if (score < min) min = score;
      }
      const diff = max - min;
      for (const ns of scores) ns.score = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((ns.score - min) / diff)) : 0;
      return Status.success();
    },

    eventsToRegister(): ClusterEvent[] {
      return [
        { resource: 'Pod', action: 'All' },
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'UpdateNodeLabel' },
      ];
    },
  };
};

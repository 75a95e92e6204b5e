// PodTopologySpread (upstream: pkg/scheduler/framework/plugins/podtopologyspread): spreads
// matching pods across topology domains. DoNotSchedule constraints filter (skew = matching pods
// in the candidate's domain + self-match − global minimum over eligible domains, which counts as
// 0 while fewer than minDomains domains exist); ScheduleAnyway constraints score. Pods without
// constraints get the configured defaults (System: zone maxSkew 5, hostname maxSkew 3), with a
// selector from the Services/ReplicaSets/StatefulSets selecting the pod.
import { labelSelectorFromObject } from '../../apiserver/selectors.js';
import {
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
  MAX_NODE_SCORE,
  Status,
} from '../framework/types.js';
import { hasUntoleratedScheduleTaint, podRequiredNodeAffinityMatches } from './pod-topology-spread/node-inclusion.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';

export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + ' (missing required label)';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';

/** Upstream's system default constraints (used with defaultingType: System). */
export const SYSTEM_DEFAULT_CONSTRAINTS = [
  { topologyKey: LABEL_TOPOLOGY_ZONE, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
];

export interface PodTopologySpreadArgs {
  /** v1.TopologySpreadConstraint objects without labelSelector (used with defaultingType: List). */
  defaultConstraints?: any[];
  /** "System" (default) or "List". */
  defaultingType?: 'System' | 'List';
}

const PRE_FILTER_KEY = 'PreFilter' + POD_TOPOLOGY_SPREAD;
const PRE_SCORE_KEY = 'PreScore' + POD_TOPOLOGY_SPREAD;

type Labels = Record<string, string>;
interface Selector {
  matches(labels: Labels | undefined): boolean;
  requirements?: unknown[];
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  nodeAffinityPolicy: 'Honor' | 'Ignore';
  nodeTaintsPolicy: 'Honor' | 'Ignore';
}

/** labels.Selector.Empty(): no requirements (matches everything, but counts nothing). */
const isEmpty = (s: Selector) => Array.isArray(s.requirements) && s.requirements.length === 0;

const labelsOf = (n: Node): Labels => n.metadata?.labels ?? {};
const namespaceOf = (p: Pod) => p.metadata?.namespace ?? 'default';
const has = (labels: Labels, key: string) => Object.prototype.hasOwnProperty.call(labels, key);

function nodeHasAllTopologyKeys(labels: Labels, constraints: Constraint[]): boolean {
  return constraints.every((c) => has(labels, c.topologyKey));
}

/** Matching pods in the pod's namespace, skipping terminating ones; an empty selector counts none. */
function countMatching(pods: PodInfo[], selector: Selector, ns: string): number {
  if (isEmpty(selector)) return 0;
  let n = 0;
  for (const p of pods) {
    if (p.pod.metadata?.deletionTimestamp || namespaceOf(p.pod) !== ns) continue;
    if (selector.matches(p.pod.metadata?.labels)) n++;
  }
  return n;
}

function nodeIncluded(c: Constraint, pod: Pod, node: Node): boolean {
  if (c.nodeAffinityPolicy === 'Honor' && !podRequiredNodeAffinityMatches(pod, node)) return false;
  if (c.nodeTaintsPolicy === 'Honor' && hasUntoleratedScheduleTaint(pod, node)) return false;
  return true;
}

const ALL_NODES = () => true;

/** nodeIncluded for one cycle: a constant when the pod has no node affinity and taints are ignored. */
function nodeInclusion(c: Constraint, pod: Pod): (node: Node) => boolean {
  const selector = pod.spec?.nodeSelector;
  const hasNodeAffinity =
    (selector && Object.keys(selector).length > 0) || pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution !== undefined;
  if (c.nodeTaintsPolicy !== 'Honor' && (c.nodeAffinityPolicy !== 'Honor' || !hasNodeAffinity)) return ALL_NODES;
  return (node) => nodeIncluded(c, pod, node);
}

/** The two smallest domains of a constraint: [0] holds the global minimum (see upstream's caveat). */
class CriticalPaths {
  paths: Array<{ value: string; num: number }> = [
    { value: '', num: Number.MAX_SAFE_INTEGER },
    { value: '', num: Number.MAX_SAFE_INTEGER },
  ];
  update(value: string, num: number): void {
    const p = this.paths;
    const i = value === p[0].value ? 0 : value === p[1].value ? 1 : -1;
    if (i >= 0) {
      p[i].num = num;
      if (p[0].num > p[1].num) [p[0], p[1]] = [p[1], p[0]];
    } else if (num < p[0].num) {
      p[1] = p[0];
      p[0] = { value, num };
    } else if (num < p[1].num) {
      p[1] = { value, num };
    }
  }
  copy(): CriticalPaths {
    const c = new CriticalPaths();
    c.paths = [{ ...this.paths[0] }, { ...this.paths[1] }];
    return c;
  }
}

class PreFilterState {
  constructor(
    readonly constraints: Constraint[],
    readonly criticalPaths: CriticalPaths[],
    /** Per constraint index: topology value -> matching pods. */
    readonly matchNum: Array<Map<string, number>>,
    /** Per constraint: 1 when the incoming pod matches its own selector (computed on first use). */
    readonly selfMatch: number[] = [],
  ) {}
  minMatchNum(i: number, minDomains: number): number {
    // Fewer eligible domains than minDomains: the global minimum is taken as 0.
    if (this.matchNum[i].size < minDomains) return 0;
    return this.criticalPaths[i].paths[0].num;
  }
  clone(): PreFilterState {
    return new PreFilterState(
      this.constraints,
      this.criticalPaths.map((p) => p.copy()),
      this.matchNum.map((m) => new Map(m)),
    );
  }
}

/**
 * PreScore's counts for one (namespace, selectors, topology keys, requireAll), kept across cycles:
 * per constraint, matching pods per domain over all nodes (missing keys fall into the "" domain,
 * or the node is left out when every key is required), and for hostname constraints per node.
 */
interface ScoreMemo {
  labelGen: number;
  seq: number;
  domains: Array<Map<string, number>>;
  perNode: Array<Map<string, number> | undefined>;
}

interface PreScoreState {
  constraints: Constraint[];
  ignoredNodes: Set<string>;
  /** Per constraint index: topology value -> matching pods (hostname constraints count in Score). */
  podCounts: Array<Map<string, number>>;
  /** The kept counts PreScore read (hostname constraints: node name -> matching pods on it)... */
  memo?: ScoreMemo;
  /** ...while they are at this change: a later cycle moving them on sends Score back to counting. */
  memoSeq?: number;
  normalizingWeight: number[];
  clone(): PreScoreState;
}

/** log(size + 2): the counts of small topologies are not watered down by big ones. */
export function topologyNormalizingWeight(size: number): number {
  return Math.log(size + 2);
}

function scoreForCount(cnt: number, maxSkew: number, weight: number): number {
  return cnt * weight + (maxSkew - 1);
}

export const newPodTopologySpread: PluginFactory = (rawArgs: PluginArgs | undefined, handle: Handle): Plugin => {
  const args = (rawArgs ?? {}) as PodTopologySpreadArgs;
  const systemDefaulted = (args.defaultingType ?? 'System') === 'System';
  const defaultConstraints: any[] = systemDefaulted ? SYSTEM_DEFAULT_CONSTRAINTS : (args.defaultConstraints ?? []);

  /** Parses the constraints with the given whenUnsatisfiable, merging matchLabelKeys into the selector. */
  function parseConstraints(raw: any[], podLabels: Labels, action: string): Constraint[] {
    const out: Constraint[] = [];
    for (const c of raw) {
      if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== action) continue;
      let selectorObj = c.labelSelector ?? null;
      const keys: string[] = c.matchLabelKeys ?? [];
      if (selectorObj && keys.length) {
        const extra = keys.filter((k) => has(podLabels, k)).map((k) => ({ key: k, operator: 'In', values: [podLabels[k]] }));
        if (extra.length) selectorObj = { ...selectorObj, matchExpressions: [...extra, ...(selectorObj.matchExpressions ?? [])] };
      }
      out.push({
        maxSkew: c.maxSkew ?? 1,
        topologyKey: c.topologyKey ?? '',
        selector: labelSelectorFromObject(selectorObj),
        minDomains: c.minDomains ?? 1,
        nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor',
        nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore',
      });
    }
    return out;
  }

  /** Default constraints get one selector: the conjunction of all workload selectors for the pod. */
  function defaultSelector(pod: Pod): Selector | undefined {
    const selectors = (handle.listers.selectorsForPod?.(pod) ?? []) as Selector[];
    const nonEmpty = selectors.filter((s) => !isEmpty(s));
    if (nonEmpty.length === 0) return undefined;
    return {
      requirements: nonEmpty.flatMap((s) => s.requirements ?? [s]),
      matches: (labels) => nonEmpty.every((s) => s.matches(labels)),
    };
  }

  function constraintsFor(pod: Pod, action: 'DoNotSchedule' | 'ScheduleAnyway'): Constraint[] {
    const podLabels: Labels = pod.metadata?.labels ?? {};
    const own: any[] = pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return parseConstraints(own, podLabels, action);
    const cs = parseConstraints(defaultConstraints, podLabels, action);
    if (cs.length === 0) return cs;
    const sel = defaultSelector(pod);
    if (!sel) return [];
    for (const c of cs) c.selector = sel;
    return cs;
  }

  /** Eligible domains (all with 0 pods) per constraint, for the node labels of one generation. */
  let domainMemo: { generation: number; key: string; domains: Array<Map<string, number>> } | undefined;

  /** Counts `other` in or out of the preemptor's spread state (preemption what-ifs). */
  function updateWithPod(s: PreFilterState | undefined, other: Pod, preemptor: Pod, node: Node, delta: number): void {
    if (!s || namespaceOf(other) !== namespaceOf(preemptor)) return;
    const labels = labelsOf(node);
    if (!nodeHasAllTopologyKeys(labels, s.constraints)) return;
    s.constraints.forEach((c, i) => {
      if (!c.selector.matches(other.metadata?.labels)) return;
      if (!nodeIncluded(c, preemptor, node)) return;
      const v = labels[c.topologyKey];
      const n = (s.matchNum[i].get(v) ?? 0) + delta;
      s.matchNum[i].set(v, n);
      s.criticalPaths[i].update(v, n);
    });
  }

  /** Matching pods per eligible domain of each constraint (every eligible domain present, maybe with 0). */
  function countDomains(constraints: Constraint[], pod: Pod, nodes: NodeInfo[]): Array<Map<string, number>> {
    const matchNum = constraints.map(() => new Map<string, number>());
    const ns = namespaceOf(pod);
    const included = constraints.map((c) => nodeInclusion(c, pod));
    const index = nodes === handle.snapshot.nodes() ? handle.snapshot.podIndex?.() : undefined;
    // An empty selector counts no pod.
    const cands = constraints.map((c) => (index ? (isEmpty(c.selector) ? [] : index.candidates(c.selector)) : undefined));
    // Every eligible domain takes part (with 0 matching pods), so the minimum is right. When
    // nothing depends on the pod, the domains only change with node labels: memoized.
    const labelGen = handle.snapshot.nodeLabelGeneration?.();
    const memoKey = constraints.map((c) => c.topologyKey).join('\0');
    const memoizable = labelGen !== undefined && cands.every((c) => c !== undefined) && included.every((f) => f === ALL_NODES);
    if (memoizable && domainMemo?.generation === labelGen && domainMemo.key === memoKey) {
      for (let i = 0; i < constraints.length; i++) matchNum[i] = new Map(domainMemo.domains[i]);
    } else for (const ni of nodes) {
      const labels = labelsOf(ni.node);
      if (!nodeHasAllTopologyKeys(labels, constraints)) continue;
      for (let i = 0; i < constraints.length; i++) {
        if (!included[i](ni.node)) continue;
        const v = labels[constraints[i].topologyKey];
        const m = matchNum[i];
        const n = cands[i] ? 0 : countMatching(ni.pods, constraints[i].selector, ns);
        m.set(v, (m.get(v) ?? 0) + n);
      }
    }
    if (memoizable && (domainMemo?.generation !== labelGen || domainMemo.key !== memoKey)) {
      domainMemo = { generation: labelGen!, key: memoKey, domains: matchNum.map((m) => new Map(m)) };
    }
    // Indexed constraints: only the pods carrying the selector's label are counted.
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i];
      for (const pods of cands[i] ?? []) {
        for (const [p, ni] of pods) {
          if (p.pod.metadata?.deletionTimestamp || namespaceOf(p.pod) !== ns || !c.selector.matches(p.pod.metadata?.labels)) continue;
          const labels = labelsOf(ni.node);
          if (!nodeHasAllTopologyKeys(labels, constraints) || !included[i](ni.node)) continue;
          const v = labels[c.topologyKey];
          matchNum[i].set(v, (matchNum[i].get(v) ?? 0) + 1);
        }
      }
    }
    return matchNum;
  }

  /**
   * Counts kept across cycles per (namespace, selectors, topology keys), brought up to date from
   * the NodeInfos the snapshot replaced since (a few per cycle) instead of recounting all pods.
   * Only for constraints that include every node (no node affinity or taint policy in play).
   */
  const countMemos = new Map<string, { labelGen: number; seq: number; matchNum: Array<Map<string, number>> }>();
  function memoizedCounts(constraints: Constraint[], pod: Pod, nodes: NodeInfo[]): Array<Map<string, number>> | undefined {
    const snap = handle.snapshot;
    const seq = snap.changeSeq?.();
    const labelGen = snap.nodeLabelGeneration?.();
    if (seq === undefined || labelGen === undefined || nodes !== snap.nodes()) return undefined;
    if (!constraints.every((c) => nodeInclusion(c, pod) === ALL_NODES)) return undefined;
    const ns = namespaceOf(pod);
    let key = ns;
    for (const c of constraints) {
      const reqs = c.selector.requirements;
      if (!Array.isArray(reqs) || !reqs.every((r: any) => typeof r?.key === 'string' && typeof r?.op === 'string')) return undefined;
      key += `\0${c.topologyKey}\0${JSON.stringify(reqs)}`;
    }
    let memo = countMemos.get(key);
    const changes = memo && memo.labelGen === labelGen ? snap.changesSince!(memo.seq) : undefined;
    if (memo && changes) {
      for (const { before, after } of changes) {
        for (const [ni, sign] of [[before, -1], [after, 1]] as const) {
          if (ni.pods.length === 0) continue;
          const labels = labelsOf(ni.node);
          if (!nodeHasAllTopologyKeys(labels, constraints)) continue;
          for (let i = 0; i < constraints.length; i++) {
            const n = countMatching(ni.pods, constraints[i].selector, ns);
            if (n === 0) continue;
            const m = memo.matchNum[i];
            const v = labels[constraints[i].topologyKey];
            m.set(v, (m.get(v) ?? 0) + sign * n);
          }
        }
      }
      memo.seq = seq;
    } else {
      if (countMemos.size >= 256) countMemos.clear();
      memo = { labelGen, seq, matchNum: countDomains(constraints, pod, nodes) };
      countMemos.set(key, memo);
    }
    // The cycle's state is changed by preemption's what-ifs: it gets copies.
    return memo.matchNum.map((m) => new Map(m));
  }

  /**
   * Scoring counts kept across cycles per (namespace, selectors, topology keys, requireAll), see
   * ScoreMemo. Caught up from the snapshot's replaced NodeInfos like countMemos. Only for
   * constraints that include every node; PreScore then reads the domains of the filtered nodes
   * from here instead of matching every pod of the cluster.
   */
  const scoreMemos = new Map<string, ScoreMemo>();
  function addScoreCounts(memo: ScoreMemo, constraints: Constraint[], ni: NodeInfo, ns: string, requireAll: boolean, sign: 1 | -1): void {
    const labels = labelsOf(ni.node);
    if (requireAll && !nodeHasAllTopologyKeys(labels, constraints)) return;
    for (let i = 0; i < constraints.length; i++) {
      const n = ni.pods.length === 0 ? 0 : countMatching(ni.pods, constraints[i].selector, ns);
      const perNode = memo.perNode[i];
      if (perNode) {
        if (sign > 0 && n > 0) perNode.set(ni.name, n);
        else perNode.delete(ni.name);
      }
      if (n === 0) continue;
      const m = memo.domains[i];
      const v = labels[constraints[i].topologyKey] ?? '';
      m.set(v, (m.get(v) ?? 0) + sign * n);
    }
  }
  function memoizedScoreCounts(constraints: Constraint[], pod: Pod, requireAll: boolean): ScoreMemo | undefined {
    const snap = handle.snapshot;
    const seq = snap.changeSeq?.();
    const labelGen = snap.nodeLabelGeneration?.();
    if (seq === undefined || labelGen === undefined) return undefined;
    if (!constraints.every((c) => nodeInclusion(c, pod) === ALL_NODES)) return undefined;
    const ns = namespaceOf(pod);
    let key = `${ns}\0${requireAll}`;
    for (const c of constraints) {
      const reqs = c.selector.requirements;
      if (!Array.isArray(reqs) || !reqs.every((r: any) => typeof r?.key === 'string' && typeof r?.op === 'string')) return undefined;
      key += `\0${c.topologyKey}\0${JSON.stringify(reqs)}`;
    }
    let memo = scoreMemos.get(key);
    const changes = memo && memo.labelGen === labelGen ? snap.changesSince!(memo.seq) : undefined;
    if (memo && changes) {
      // Replaced NodeInfos of one node: the last "after" is the current one (perNode is set by it).
      for (const { before, after } of changes) {
        addScoreCounts(memo, constraints, before, ns, requireAll, -1);
        addScoreCounts(memo, constraints, after, ns, requireAll, 1);
      }
      memo.seq = seq;
    } else {
      if (scoreMemos.size >= 256) scoreMemos.clear();
      memo = {
        labelGen,
        seq,
        domains: constraints.map(() => new Map()),
        perNode: constraints.map((c) => (c.topologyKey === LABEL_HOSTNAME ? new Map() : undefined)),
      };
      if (!constraints.every((c) => isEmpty(c.selector))) for (const ni of snap.nodes()) addScoreCounts(memo, constraints, ni, ns, requireAll, 1);
      scoreMemos.set(key, memo);
    }
    return memo;
  }

  return {
    name: POD_TOPOLOGY_SPREAD,

    preFilter(state: CycleState, pod: Pod, nodes: NodeInfo[]) {
      const constraints = constraintsFor(pod, 'DoNotSchedule');
      if (constraints.length === 0) return { status: Status.skip() };
      const matchNum = memoizedCounts(constraints, pod, nodes) ?? countDomains(constraints, pod, nodes);
      const criticalPaths = matchNum.map((m) => {
        const p = new CriticalPaths();
        for (const [v, n] of m) p.update(v, n);
        return p;
      });
      state.write(PRE_FILTER_KEY, new PreFilterState(constraints, criticalPaths, matchNum));
      return { status: Status.success() };
    },

    addPod(state, pod, toAdd, node) {
      updateWithPod(state.read<PreFilterState>(PRE_FILTER_KEY), toAdd.pod, pod, node.node, 1);
      return Status.success();
    },

    removePod(state, pod, toRemove, node) {
      updateWithPod(state.read<PreFilterState>(PRE_FILTER_KEY), toRemove.pod, pod, node.node, -1);
      return Status.success();
    },

    filter(state, pod, node) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return Status.error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
      const labels = labelsOf(node.node);
      const podLabels = pod.metadata?.labels;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i];
        if (!has(labels, c.topologyKey)) return Status.unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
        const selfMatch = (s.selfMatch[i] ??= c.selector.matches(podLabels) ? 1 : 0);
        const skew = (s.matchNum[i].get(labels[c.topologyKey]) ?? 0) + selfMatch - s.minMatchNum(i, c.minDomains);
        if (skew > c.maxSkew) return Status.unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
      }
      return Status.success();
    },

    preScore(state, pod, filteredNodes) {
      const allNodes = handle.snapshot.nodes();
      if (allNodes.length === 0) return Status.skip();
      const constraints = constraintsFor(pod, 'ScheduleAnyway');
      if (constraints.length === 0) return Status.skip();
      // Only custom constraints require every topology key; with system defaults a node
      // without a zone label still gets hostname spreading.
      const requireAll = (pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !systemDefaulted;
      const ignoredNodes = new Set<string>();
      const podCounts = constraints.map(() => new Map<string, number>());
      for (const ni of filteredNodes) {
        const labels = labelsOf(ni.node);
        if (requireAll && !nodeHasAllTopologyKeys(labels, constraints)) {
          ignoredNodes.add(ni.name);
          continue;
        }
        for (let i = 0; i < constraints.length; i++) {
          const key = constraints[i].topologyKey;
          if (key === LABEL_HOSTNAME) continue; // counted per node in Score
          const v = labels[key] ?? ''; // as upstream: missing keys (system defaults) share the "" domain
          if (!podCounts[i].has(v)) podCounts[i].set(v, 0);
        }
      }
      const normalizingWeight = constraints.map((c, i) =>
        topologyNormalizingWeight(c.topologyKey === LABEL_HOSTNAME ? filteredNodes.length - ignoredNodes.size : podCounts[i].size),
      );
      const ns = namespaceOf(pod);
      const memo = memoizedScoreCounts(constraints, pod, requireAll);
      if (memo) {
        // Every node is included: a domain's count is its count over all nodes, kept across cycles.
        for (let i = 0; i < constraints.length; i++) {
          const all = memo.domains[i];
          for (const v of podCounts[i].keys()) podCounts[i].set(v, all.get(v) ?? 0);
        }
      } else
        for (const ni of allNodes) {
          const labels = labelsOf(ni.node);
          if (requireAll && !nodeHasAllTopologyKeys(labels, constraints)) continue;
          constraints.forEach((c, i) => {
            if (c.topologyKey === LABEL_HOSTNAME) return; // counted per node in Score
            const v = labels[c.topologyKey] ?? '';
            const cur = podCounts[i].get(v);
            if (cur === undefined) return; // no candidate node in this domain
            if (!nodeIncluded(c, pod, ni.node)) return;
            podCounts[i].set(v, cur + countMatching(ni.pods, c.selector, ns));
          });
        }
      const s: PreScoreState = {
        constraints,
        ignoredNodes,
        podCounts,
        memo,
        memoSeq: memo?.seq,
        normalizingWeight,
        clone() {
          return this;
        },
      };
      state.write(PRE_SCORE_KEY, s);
      return Status.success();
    },

    score(state, pod, node) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return { score: 0, status: Status.error(`error reading "${PRE_SCORE_KEY}" from cycleState: not found`) };
      if (s.ignoredNodes.has(node.name)) return { score: 0, status: Status.success() };
      const labels = labelsOf(node.node);
      const memo = s.memo && s.memo.seq === s.memoSeq ? s.memo : undefined;
      let score = 0;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i];
        if (!has(labels, c.topologyKey)) continue;
        let cnt: number;
        if (c.topologyKey !== LABEL_HOSTNAME) cnt = s.podCounts[i].get(labels[c.topologyKey]) ?? 0;
        else if (memo) cnt = memo.perNode[i]!.get(node.name) ?? 0;
        else cnt = countMatching(node.pods, c.selector, namespaceOf(pod));
        score += scoreForCount(cnt, c.maxSkew, s.normalizingWeight[i]);
      }
      return { score: Math.round(score), status: Status.success() };
    },

    normalizeScore(state, _pod, scores: NodeScore[]) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return Status.success();
      let min = Number.MAX_SAFE_INTEGER;
      let max = 0;
      for (const ns of scores) {
        if (s.ignoredNodes.has(ns.name)) continue;
        if (ns.score < min) min = ns.score;
        if (ns.score > max) max = ns.score;
      }
      for (const ns of scores) {
        if (s.ignoredNodes.has(ns.name)) ns.score = 0;
        else if (max === 0) ns.score = MAX_NODE_SCORE;
        else ns.score = Math.trunc((MAX_NODE_SCORE * (max + min - ns.score)) / max);
      }
      return Status.success();
    },

    eventsToRegister(): ClusterEvent[] {
      return [
        { resource: 'Pod', action: 'All' },
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'Delete' },
        { resource: 'Node', action: 'UpdateNodeLabel' },
        { resource: 'Node', action: 'UpdateNodeTaint' },
      ];
    },
  };
};

// The framework runtime (upstream: framework/runtime/framework.go plus the placement half of
// schedule_one.go): one profile's plugins ordered per extension point with their score weights,
// and the scheduling cycle over a snapshot: PreFilter → Filter (a sample of the nodes, rotating
// start, nominated pods accounted for) → PostFilter when nothing fits → PreScore/Score/Normalize
// → pick the best node → Reserve → Permit; and the binding cycle's PreBind/Bind/PostBind.
import { FitError, newDiagnosis, type Diagnosis } from '../messages.js';
import { addPod as addPodToNode, cloneNodeInfo } from './node-info.js';
import {
  Code,
  CycleState,
  MAX_NODE_SCORE,
  Status,
  type ClusterEvent,
  type Handle,
  type NodeInfo,
  type NodeScore,
  type NodeToStatus,
  type Plugin,
  type PluginArgs,
  type PluginFactory,
  type Pod,
  type PodInfo,
  type PostFilterResult,
  type Snapshot,
} from './types.js';

/** Extension points a profile configures (KubeSchedulerConfiguration plugins.<point>). */
export const EXTENSION_POINTS = [
  'preFilter',
  'filter',
  'postFilter',
  'preScore',
  'score',
  'reserve',
  'permit',
  'preBind',
  'bind',
  'postBind',
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

/** Plugin methods that make a plugin part of an extension point. */
const POINT_METHODS: Record<ExtensionPoint, keyof Plugin> = {
  preFilter: 'preFilter',
  filter: 'filter',
  postFilter: 'postFilter',
  preScore: 'preScore',
  score: 'score',
  reserve: 'reserve',
  permit: 'permit',
  preBind: 'preBind',
  bind: 'bind',
  postBind: 'postBind',
};

export function implementsPoint(p: Plugin, point: ExtensionPoint): boolean {
  return typeof p[POINT_METHODS[point]] === 'function';
}

/** Name → factory: the in-tree plugins plus any loaded out-of-tree ones. */
export type Registry = Map<string, PluginFactory>;

export interface PluginRef {
  name: string;
  /** Score weight (score and multiPoint sets only). */
  weight?: number;
}

export interface PluginSet {
  enabled: PluginRef[];
  /** Names; "*" disables every default plugin of the point. */
  disabled: string[];
}

/** KubeSchedulerConfiguration profile.plugins: multiPoint plus per-point sets (queueSort/preEnqueue are accepted and handled by the queue). */
export type PluginsConfig = Partial<Record<ExtensionPoint | 'multiPoint' | 'queueSort' | 'preEnqueue', PluginSet>>;

/** One profile, merged with the default plugins (config.ts), before multiPoint expansion. */
export interface ProfileConfig {
  schedulerName: string;
  plugins: PluginsConfig;
  /** pluginConfig args by plugin name. */
  pluginConfig: Map<string, PluginArgs>;
  /** Profile-level override; undefined → the global setting. */
  percentageOfNodesToScore?: number;
}

/** A profile's plugin names per extension point after multiPoint expansion, with score weights. */
export interface ExpandedPlugins {
  points: Record<ExtensionPoint, string[]>;
  weights: Map<string, number>;
}

/**
 * upstream expandMultiPointPlugins: per extension point, plugins re-configured at that point
 * first (in their order there), then multiPoint plugins implementing the point (unless disabled
 * there), then the rest of the point's own list.
 */
export function expandMultiPoint(plugins: PluginsConfig, instances: Map<string, Plugin>): ExpandedPlugins {
  const points = {} as Record<ExtensionPoint, string[]>;
  const weights = new Map<string, number>();
  const multi = plugins.multiPoint?.enabled ?? [];
  for (const point of EXTENSION_POINTS) {
    const set = plugins[point] ?? { enabled: [], disabled: [] };
    const own = set.enabled.map((p) => p.name);
    const disabled = new Set(set.disabled);
    if (disabled.has('*')) {
      points[point] = own;
    } else {
      const overrides: string[] = [];
      const fromMulti: string[] = [];
      for (const ref of multi) {
        const inst = instances.get(ref.name);
        if (!inst) throw new Error(`plugin "${ref.name}" does not exist`);
        if (!implementsPoint(inst, point) || disabled.has(ref.name)) continue;
        if (own.includes(ref.name)) {
          if (!overrides.includes(ref.name)) overrides.push(ref.name);
          continue;
        }
        if (fromMulti.includes(ref.name)) throw new Error(`plugin "${ref.name}" already registered as "${point}"`);
        fromMulti.push(ref.name);
        if (point === 'score') weights.set(ref.name, ref.weight || 1);
      }
      const ordered = [...overrides, ...fromMulti];
      for (const n of own) if (!ordered.includes(n)) ordered.push(n);
      else if (!overrides.includes(n)) throw new Error(`plugin "${n}" already registered as "${point}"`);
      points[point] = ordered;
    }
    if (point === 'score') for (const ref of set.enabled) weights.set(ref.name, ref.weight || 1);
  }
  return { points, weights };
}

/** A pod held at Permit until every waiting plugin allows it (or one rejects / times out). */
export class WaitingPod {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private settle!: (s: Status) => void;
  readonly done: Promise<Status>;

  constructor(
    readonly pod: Pod,
    readonly nodeName: string,
    waits: Map<string, number>,
    private readonly onDone: () => void,
  ) {
    this.done = new Promise<Status>((r) => (this.settle = r));
    for (const [plugin, ms] of waits) {
      const t = setTimeout(() => this.reject(plugin, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${plugin}`), ms);
      this.pending.set(plugin, t);
    }
  }

  /** Plugins that still have to allow the pod. */
  pendingPlugins(): string[] {
    return [...this.pending.keys()];
  }

  allow(plugin: string): void {
    const t = this.pending.get(plugin);
    if (!t) return;
    clearTimeout(t);
    this.pending.delete(plugin);
    if (this.pending.size === 0) this.finish(Status.success());
  }

  reject(plugin: string, message: string): void {
    const st = Status.unschedulable(message);
    st.plugin = plugin;
    this.finish(st);
  }

  private finish(s: Status): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.onDone();
    this.settle(s);
  }
}

/** Upstream caps Permit waits at 15 minutes. */
const MAX_PERMIT_WAIT_MS = 15 * 60_000;

/** What the framework gives plugins beyond the plugin contract's Handle (all optional there). */
export interface FrameworkHandle extends Handle {
  /** Binds through the API (POST pods/binding); used by DefaultBinder. */
  bindPod?(pod: Pod, nodeName: string): Promise<void>;
  /** Pods held at Permit, by uid. */
  getWaitingPod?(uid: string): WaitingPod | undefined;
  iterateWaitingPods?(fn: (wp: WaitingPod) => void): void;
  /** The profile this handle belongs to. */
  profileName?: string;
}

/**
 * Services the scheduler gives each framework (shared across profiles). Extra members are
 * copied onto the handle as is (e.g. VolumeBinding's annotatePVC/bindPV).
 */
export interface FrameworkServices {
  [extra: string]: unknown;
  snapshot: Snapshot;
  listers: Handle['listers'];
  deletePod?: Handle['deletePod'];
  nominate?: Handle['nominate'];
  nominatedPods?: Handle['nominatedPods'];
  bindPod?: FrameworkHandle['bindPod'];
}

export interface ScheduleResult {
  nodeName: string;
  /** Nodes filtered (feasible + rejected). */
  evaluatedNodes: number;
  feasibleNodes: number;
}

/** Upstream's adaptive sampling constants (schedule_one.go). */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
export const BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50;

/**
 * How many feasible nodes to look for among numAllNodes: all of them below 100 nodes or at 100%;
 * otherwise the configured percentage, or adaptively 50% − nodes/125 (at least 5%), never
 * fewer than 100 nodes.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage?: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage ?? 0;
  if (pct >= 100) return numAllNodes;
  if (pct <= 0) {
    pct = BASE_PERCENTAGE_OF_NODES_TO_SCORE - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

function podPriority(pod: Pod): number {
  return typeof pod.spec?.priority === 'number' ? pod.spec.priority : 0;
}

/**
 * Copies a CycleState for what-if runs (nominated pods). Values with a clone() method are
 * cloned; others are shared. CycleState keeps its map private, so we reach it by cast.
 */
export function cloneCycleState(state: CycleState): CycleState {
  const out = new CycleState();
  const data = (state as unknown as { data: Map<string, unknown> }).data;
  for (const [k, v] of data) {
    const c = v as { clone?: () => unknown } | null;
    out.write(k, c && typeof c.clone === 'function' ? c.clone() : v);
  }
  for (const s of state.skipFilter) out.skipFilter.add(s);
  for (const s of state.skipScore) out.skipScore.add(s);
  return out;
}

/** One profile's framework. */
export class Framework {
  readonly schedulerName: string;
  readonly handle: FrameworkHandle;
  /** Every instantiated plugin by name. */
  readonly plugins = new Map<string, Plugin>();
  readonly preFilterPlugins: Plugin[];
  readonly filterPlugins: Plugin[];
  readonly postFilterPlugins: Plugin[];
  readonly preScorePlugins: Plugin[];
  readonly scorePlugins: Plugin[];
  readonly scoreWeights: number[];
  readonly reservePlugins: Plugin[];
  readonly permitPlugins: Plugin[];
  readonly preBindPlugins: Plugin[];
  readonly bindPlugins: Plugin[];
  readonly postBindPlugins: Plugin[];
  percentageOfNodesToScore?: number;
  /** Rotates across cycles so every node gets a turn when only a sample is filtered. */
  nextStartNodeIndex = 0;
  /** Random source for tie-breaks (tests replace it). */
  random: () => number = Math.random;
  private readonly waiting = new Map<string, WaitingPod>();

  constructor(profile: ProfileConfig, registry: Registry, services: FrameworkServices) {
    this.schedulerName = profile.schedulerName;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    const handle: FrameworkHandle = {
      ...services,
      profileName: profile.schedulerName,
      runFilters: (state, pod, node) => this.runFilterPlugins(state, pod, node),
      runPreFilterAddPod: (state, pod, toAdd, node) => this.runPreFilterExtension('addPod', state, pod, toAdd, node),
      runPreFilterRemovePod: (state, pod, toRemove, node) => this.runPreFilterExtension('removePod', state, pod, toRemove, node),
      getWaitingPod: (uid) => this.waiting.get(uid),
      iterateWaitingPods: (fn) => {
        for (const wp of this.waiting.values()) fn(wp);
      },
    };
    this.handle = handle;
    // Instantiate every plugin named anywhere, once.
    for (const set of Object.values(profile.plugins)) {
      for (const { name } of set?.enabled ?? []) {
        if (this.plugins.has(name)) continue;
        const factory = registry.get(name);
        if (!factory) throw new Error(`plugin "${name}" does not exist`);
        const plugin = factory(profile.pluginConfig.get(name), handle);
        if (plugin.name !== name) throw new Error(`plugin factory "${name}" returned a plugin named "${plugin.name}"`);
        this.plugins.set(name, plugin);
      }
    }
    const { points, weights } = expandMultiPoint(profile.plugins, this.plugins);
    this.expanded = { points, weights };
    const list = (point: ExtensionPoint): Plugin[] =>
      points[point].map((n) => {
        const p = this.plugins.get(n)!;
        if (!implementsPoint(p, point)) throw new Error(`plugin "${n}" does not extend ${point} plugin`);
        return p;
      });
    this.preFilterPlugins = list('preFilter');
    this.filterPlugins = list('filter');
    this.postFilterPlugins = list('postFilter');
    this.preScorePlugins = list('preScore');
    this.scorePlugins = list('score');
    this.scoreWeights = this.scorePlugins.map((p) => weights.get(p.name) ?? 1);
    this.reservePlugins = list('reserve');
    this.permitPlugins = list('permit');
    this.preBindPlugins = list('preBind');
    this.bindPlugins = list('bind');
    this.postBindPlugins = list('postBind');
    if (this.bindPlugins.length === 0) throw new Error(`profile "${profile.schedulerName}": at least one bind plugin is needed`);
  }

  /** Plugin names per extension point (after multiPoint expansion) and score weights. */
  readonly expanded: ExpandedPlugins;

  /** Cluster events each plugin cares about; plugins without eventsToRegister get undefined (= all). */
  eventsByPlugin(): Map<string, ClusterEvent[] | undefined> {
    const m = new Map<string, ClusterEvent[] | undefined>();
    for (const [n, p] of this.plugins) m.set(n, p.eventsToRegister?.());
    return m;
  }

  // ---- PreFilter / Filter ----

  /** Runs PreFilter; merges node-name results; Skip marks the plugin's Filter as skipped. */
  runPreFilterPlugins(state: CycleState, pod: Pod, nodes: NodeInfo[]): { nodeNames?: Set<string>; plugins: string[]; status: Status } {
    let nodeNames: Set<string> | undefined;
    const narrowedBy: string[] = [];
    for (const p of this.preFilterPlugins) {
      const { result, status } = p.preFilter!(state, pod, nodes);
      if (status.code === Code.Skip) {
        state.skipFilter.add(p.name);
        continue;
      }
      if (!status.isSuccess()) {
        status.plugin = p.name;
        if (status.code === Code.Error) return { plugins: [p.name], status: Status.error(`running PreFilter plugin "${p.name}": ${status.reasons.join(', ')}`) };
        return { plugins: [p.name], status };
      }
      if (result?.nodeNames) {
        narrowedBy.push(p.name);
        if (!nodeNames) nodeNames = new Set(result.nodeNames);
        else for (const n of nodeNames) if (!result.nodeNames.has(n)) nodeNames.delete(n);
        if (nodeNames.size === 0) {
          const msg =
            narrowedBy.length === 1
              ? `node(s) didn't satisfy plugin ${narrowedBy[0]}`
              : `node(s) didn't satisfy plugin(s) [${narrowedBy.join(' ')}] simultaneously`;
          const st = Status.unschedulable(msg);
          st.plugin = p.name;
          return { plugins: narrowedBy, status: st };
        }
      }
    }
    return { nodeNames, plugins: narrowedBy, status: Status.success() };
  }

  /** Filter plugins in order; the first non-success status wins (plugin name set on it). */
  runFilterPlugins(state: CycleState, pod: Pod, node: NodeInfo): Status {
    const skip = state.skipFilter;
    const plugins = this.filterPlugins;
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i];
      if (skip.size !== 0 && skip.has(p.name)) continue;
      const st = p.filter!(state, pod, node);
      if (st.code !== Code.Success) {
        if (st.code === Code.Error) {
          const e = Status.error(`running "${p.name}" filter plugin: ${st.reasons.join(', ')}`);
          e.plugin = p.name;
          return e;
        }
        st.plugin = p.name;
        return st;
      }
    }
    return Status.success();
  }

  runPreFilterExtension(which: 'addPod' | 'removePod', state: CycleState, pod: Pod, other: PodInfo, node: NodeInfo): Status {
    for (const p of this.preFilterPlugins) {
      if (state.skipFilter.has(p.name)) continue;
      const fn = p[which];
      if (!fn) continue;
      const st = fn.call(p, state, pod, other, node);
      if (!st.isSuccess()) {
        st.plugin = p.name;
        return st;
      }
    }
    return Status.success();
  }

  /**
   * Filter with nominated pods (upstream RunFilterPluginsWithNominatedPods): when pods of equal or
   * higher priority are nominated to this node, the pod must fit both with them added and without.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, node: NodeInfo): Status {
    const nominated = this.handle.nominatedPods?.(node.name);
    if (!nominated || nominated.length === 0) return this.runFilterPlugins(state, pod, node);
    const prio = podPriority(pod);
    const uid = pod.metadata?.uid;
    let stateWith: CycleState | undefined;
    let nodeWith: NodeInfo | undefined;
    for (const pi of nominated) {
      if (pi.pod.metadata?.uid === uid || podPriority(pi.pod) < prio) continue;
      if (!stateWith) {
        stateWith = cloneCycleState(state);
        nodeWith = cloneNodeInfo(node);
      }
      addPodToNode(nodeWith!, pi);
      const st = this.runPreFilterExtension('addPod', stateWith, pod, pi, nodeWith!);
      if (!st.isSuccess()) return st;
    }
    if (!stateWith) return this.runFilterPlugins(state, pod, node);
    const first = this.runFilterPlugins(stateWith, pod, nodeWith!);
    if (!first.isSuccess()) return first;
    return this.runFilterPlugins(state, pod, node);
  }

  hasFilterPlugins(): boolean {
    return this.filterPlugins.length > 0;
  }

  /** PostFilter in order until one succeeds; rejection reasons are collected (upstream semantics). */
  async runPostFilterPlugins(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status }> {
    const reasons: string[] = [];
    let result: PostFilterResult | undefined;
    let rejector = '';
    for (const p of this.postFilterPlugins) {
      const r = await p.postFilter!(state, pod, filtered);
      const st = r.status;
      if (st.isSuccess()) return r;
      if (st.code === Code.UnschedulableAndUnresolvable) {
        st.plugin = p.name;
        return r;
      }
      if (!st.isRejected()) {
        const e = Status.error(`running PostFilter plugin "${p.name}": ${st.reasons.join(', ')}`);
        e.plugin = p.name;
        return { status: e };
      }
      if (r.result) result = r.result;
      reasons.push(...st.reasons);
      rejector ||= p.name;
    }
    const st = Status.unschedulable(...reasons);
    st.plugin = rejector;
    return { result, status: st };
  }

  // ---- Score ----

  runPreScorePlugins(state: CycleState, pod: Pod, nodes: NodeInfo[]): Status {
    for (const p of this.preScorePlugins) {
      const st = p.preScore!(state, pod, nodes);
      if (st.code === Code.Skip) {
        state.skipScore.add(p.name);
        continue;
      }
      if (!st.isSuccess()) return Status.error(`running PreScore plugin "${p.name}": ${st.reasons.join(', ')}`);
    }
    return Status.success();
  }

  /** Weighted total per node, in nodes' order; throws on plugin errors or out-of-range scores. */
  runScorePlugins(state: CycleState, pod: Pod, nodes: NodeInfo[]): number[] {
    const totals = new Array<number>(nodes.length).fill(0);
    for (let pi = 0; pi < this.scorePlugins.length; pi++) {
      const p = this.scorePlugins[pi];
      if (state.skipScore.has(p.name)) continue;
      const scores: NodeScore[] = new Array(nodes.length);
      for (let i = 0; i < nodes.length; i++) {
        const { score, status } = p.score!(state, pod, nodes[i]);
        if (!status.isSuccess()) throw new Error(`running Score plugin "${p.name}": ${status.reasons.join(', ')}`);
        scores[i] = { name: nodes[i].name, score };
      }
      if (p.normalizeScore) {
        const st = p.normalizeScore(state, pod, scores);
        if (!st.isSuccess()) throw new Error(`running Normalize on Score plugin "${p.name}": ${st.reasons.join(', ')}`);
      }
      const w = this.scoreWeights[pi];
      for (let i = 0; i < nodes.length; i++) {
        const s = scores[i].score;
        if (!(s >= 0 && s <= MAX_NODE_SCORE))
          throw new Error(`plugin "${p.name}" returns an invalid score ${s}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`);
        totals[i] += s * w;
      }
    }
    return totals;
  }

  /** Index of the highest total; ties broken uniformly at random (reservoir sampling). */
  selectHost(totals: number[]): number {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < totals.length; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return best;
  }

  // ---- The placement half of the scheduling cycle ----

  /**
   * Finds the node for pod in snapshot, or throws FitError (after PostFilter has run, so its
   * message and nomination are in the error). Errors from plugins are thrown as Error.
   */
  async schedulePod(state: CycleState, pod: Pod, snapshot: Snapshot): Promise<ScheduleResult & { postFilter?: PostFilterResult }> {
    const allNodes = snapshot.nodes();
    if (allNodes.length === 0) throw new NoNodesError();
    const diagnosis = newDiagnosis();
    const feasible = this.findNodesThatFitPod(state, pod, snapshot, allNodes, diagnosis);
    if (feasible.length === 0) {
      const err = new FitError(allNodes.length, diagnosis);
      if (this.postFilterPlugins.length > 0) {
        const { result, status } = await this.runPostFilterPlugins(state, pod, diagnosis.nodeToStatus);
        if (status.code === Code.Error) throw new Error(status.reasons.join(', '));
        diagnosis.postFilterMsg = status.reasons.join(', ');
        (err as FitErrorWithNomination).nominatedNodeName = result?.nominatedNodeName;
      }
      throw err;
    }
    const evaluatedNodes = feasible.length + diagnosis.nodeToStatus.size;
    if (feasible.length === 1) return { nodeName: feasible[0].name, evaluatedNodes, feasibleNodes: 1 };
    const pre = this.runPreScorePlugins(state, pod, feasible);
    if (!pre.isSuccess()) throw new Error(pre.reasons.join(', '));
    const totals = this.runScorePlugins(state, pod, feasible);
    return { nodeName: feasible[this.selectHost(totals)].name, evaluatedNodes, feasibleNodes: feasible.length };
  }

  /** PreFilter, then Filter over (a rotating sample of) the nodes; records rejections in diagnosis. */
  findNodesThatFitPod(state: CycleState, pod: Pod, snapshot: Snapshot, allNodes: NodeInfo[], diagnosis: Diagnosis): NodeInfo[] {
    const pre = this.runPreFilterPlugins(state, pod, allNodes);
    if (!pre.status.isSuccess()) {
      if (pre.status.code === Code.Error) throw new Error(pre.status.reasons.join(', '));
      for (const n of allNodes) diagnosis.nodeToStatus.set(n.name, pre.status);
      diagnosis.preFilterMsg = pre.status.reasons.join(', ');
      for (const p of pre.plugins) diagnosis.unschedulablePlugins.add(p);
      if (pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
      return [];
    }

    // A preemptor that already has a nominated node tries it first.
    const nominatedName = pod.status?.nominatedNodeName;
    if (nominatedName && (!pre.nodeNames || pre.nodeNames.has(nominatedName))) {
      const ni = snapshot.get(nominatedName);
      if (ni && this.runFilterPluginsWithNominatedPods(state, pod, ni).isSuccess()) return [ni];
    }

    let nodes = allNodes;
    if (pre.nodeNames) {
      nodes = [];
      for (const n of pre.nodeNames) {
        const ni = snapshot.get(n);
        if (ni) nodes.push(ni);
      }
      const st = Status.unresolvable(`node(s) didn't satisfy plugin(s) [${[...pre.plugins].sort().join(' ')}]`);
      diagnosis.absentNodesStatus = st;
      for (const p of pre.plugins) diagnosis.unschedulablePlugins.add(p);
    }
    const feasible = this.findNodesThatPassFilters(state, pod, diagnosis, nodes);
    // Advance the start index even on failure so every node gets its turn.
    const processed = feasible.length + diagnosis.nodeToStatus.size;
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % allNodes.length;
    return feasible;
  }

  private findNodesThatPassFilters(state: CycleState, pod: Pod, diagnosis: Diagnosis, nodes: NodeInfo[]): NodeInfo[] {
    const numAll = nodes.length;
    const toFind = numFeasibleNodesToFind(numAll, this.percentageOfNodesToScore);
    const start = this.nextStartNodeIndex % Math.max(numAll, 1);
    const feasible: NodeInfo[] = [];
    if (!this.hasFilterPlugins()) {
      for (let i = 0; i < toFind; i++) feasible.push(nodes[(start + i) % numAll]);
      return feasible;
    }
    for (let i = 0; i < numAll; i++) {
      const ni = nodes[(start + i) % numAll];
      const st = this.runFilterPluginsWithNominatedPods(state, pod, ni);
      if (st.code === Code.Success) {
        feasible.push(ni);
        if (feasible.length >= toFind) break;
      } else {
        if (st.code === Code.Error) throw new Error(st.reasons.join(', '));
        diagnosis.nodeToStatus.set(ni.name, st);
        if (st.plugin) diagnosis.unschedulablePlugins.add(st.plugin);
      }
    }
    return feasible;
  }

  // ---- Reserve / Permit ----

  /** Reserve in order; on failure the caller runs unreserve. */
  runReservePluginsReserve(state: CycleState, pod: Pod, nodeName: string): Status {
    for (const p of this.reservePlugins) {
      const st = p.reserve!(state, pod, nodeName);
      if (!st.isSuccess()) {
        st.plugin = p.name;
        return st;
      }
    }
    return Status.success();
  }

  /** Unreserve runs in reverse order, on every reserve plugin. */
  runReservePluginsUnreserve(state: CycleState, pod: Pod, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      const p = this.reservePlugins[i];
      try {
        p.unreserve?.(state, pod, nodeName);
      } catch {
        /* unreserve must not fail the cleanup of the others */
      }
    }
  }

  /** Success, a rejection, or Wait (the pod is now a WaitingPod; await waitOnPermit). */
  runPermitPlugins(state: CycleState, pod: Pod, nodeName: string): Status {
    let waits: Map<string, number> | undefined;
    for (const p of this.permitPlugins) {
      const { status, timeoutMs } = p.permit!(state, pod, nodeName);
      if (status.code === Code.Wait) {
        (waits ??= new Map()).set(p.name, Math.min(timeoutMs ?? MAX_PERMIT_WAIT_MS, MAX_PERMIT_WAIT_MS));
        continue;
      }
      if (!status.isSuccess()) {
        status.plugin = p.name;
        return status;
      }
    }
    if (waits) {
      const uid = pod.metadata?.uid ?? '';
      const wp = new WaitingPod(pod, nodeName, waits, () => this.waiting.delete(uid));
      this.waiting.set(uid, wp);
      return new Status(Code.Wait);
    }
    return Status.success();
  }

  /** Resolves when a waiting pod is allowed or rejected; success when the pod is not waiting. */
  waitOnPermit(pod: Pod): Promise<Status> {
    const wp = this.waiting.get(pod.metadata?.uid ?? '');
    return wp ? wp.done : Promise.resolve(Status.success());
  }

  /** Rejects a waiting pod (it was deleted, or the scheduler stops). */
  rejectWaitingPod(uid: string, message = 'removed'): boolean {
    const wp = this.waiting.get(uid);
    if (!wp) return false;
    wp.reject('', message);
    return true;
  }

  // ---- Binding cycle ----

  async runPreBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<Status> {
    for (const p of this.preBindPlugins) {
      const st = await p.preBind!(state, pod, nodeName);
      if (!st.isSuccess()) {
        st.plugin = p.name;
        return st;
      }
    }
    return Status.success();
  }

  /** The first bind plugin that does not Skip binds the pod. */
  async runBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<Status> {
    for (const p of this.bindPlugins) {
      const st = await p.bind!(state, pod, nodeName);
      if (st.code === Code.Skip) continue;
      st.plugin = p.name;
      return st;
    }
    return Status.error('all bind plugins were skipped');
  }

  runPostBindPlugins(state: CycleState, pod: Pod, nodeName: string): void {
    for (const p of this.postBindPlugins) {
      try {
        p.postBind!(state, pod, nodeName);
      } catch {
        /* informational only */
      }
    }
  }
}

/** No nodes at all in the cluster (upstream ErrNoNodesAvailable). */
export class NoNodesError extends Error {
  constructor() {
    super('no nodes available to schedule pods');
    this.name = 'NoNodesError';
  }
}

export type FitErrorWithNomination = FitError & { nominatedNodeName?: string };

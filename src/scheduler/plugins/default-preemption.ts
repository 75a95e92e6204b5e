// DefaultPreemption (upstream: pkg/scheduler/framework/plugins/defaultpreemption and
// pkg/scheduler/framework/preemption): when no node fits, find a node where evicting
// lower-priority pods makes room, evict the fewest / least important victims, and nominate the
// node for the preemptor.
//
// Per candidate node (a copy of its NodeInfo and of the cycle state): remove every lower-priority
// pod, check the preemptor fits, then re-add ("reprieve") victims — PDB-violating ones first, each
// group from the most important down — keeping those that still let the preemptor fit.
import { addPod as addPodToNode, cloneNodeInfo, removePod as removePodFromNode } from '../framework/node-info.js';
import type { KObject } from '../../api/types.js';
import {
  type Handle,
  type NodeInfo,
  type NodeToStatus,
  type Plugin,
  type PluginArgs,
  type PluginFactory,
  type Pod,
  type PodInfo,
  type PostFilterResult,
  Code,
  CycleState,
  Status,
} from '../framework/types.js';
import { labelSelectorFromObject } from '../../apiserver/selectors.js';

export const DEFAULT_PREEMPTION = 'DefaultPreemption';

export const REASON_NO_VICTIMS = 'No preemption victims found for incoming pod';
export const REASON_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const MSG_PREEMPTION_POLICY_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const MSG_TERMINATING_ON_NOMINATED = 'not eligible due to a terminating pod on the nominated node.';

export interface DefaultPreemptionArgs {
  /** Candidates to dry-run as a percentage of potential nodes (default 10). */
  minCandidateNodesPercentage?: number;
  /** Lower bound on candidates to dry-run (default 100). */
  minCandidateNodesAbsolute?: number;
}

/** Victims chosen on one node. */
export interface Candidate {
  nodeName: string;
  /** Most important first. */
  victims: Pod[];
  numPDBViolations: number;
}

export function podPriority(pod: Pod): number {
  return typeof pod.spec?.priority === 'number' ? pod.spec.priority : 0;
}

/** Start time in ms; pods not started yet count as starting now (upstream GetPodStartTime). */
function podStartTime(pod: Pod, now: number): number {
  const t = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  return Number.isNaN(t) ? now : t;
}

/** Upstream MoreImportantPod: higher priority, then earlier start. */
export function moreImportantPod(a: Pod, b: Pod, now = Date.now()): boolean {
  const pa = podPriority(a);
  const pb = podPriority(b);
  if (pa !== pb) return pa > pb;
  return podStartTime(a, now) < podStartTime(b, now);
}

function podTerminatingByPreemption(pod: Pod): boolean {
  if (!pod.metadata?.deletionTimestamp) return false;
  for (const c of pod.status?.conditions ?? []) {
    if (c.type === 'DisruptionTarget') return c.status === 'True' && c.reason === 'PreemptionByScheduler';
  }
  return false;
}

/**
 * Copies a CycleState for one node's dry run: values with clone() (plugins' PreFilter state)
 * are cloned, so AddPod/RemovePod on the copy leave the original alone.
 */
export function cloneCycleState(state: CycleState): CycleState {
  const withClone = state as CycleState & { clone?: () => CycleState };
  if (typeof withClone.clone === 'function') return withClone.clone();
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

interface Pdb {
  namespace: string;
  selector: { matches(l: Record<string, string> | undefined): boolean; requirements?: unknown[] };
  disruptionsAllowed: number;
  disruptedPods: Record<string, unknown>;
}

function compilePdbs(objs: KObject[]): Pdb[] {
  return objs.map((o) => ({
    namespace: o.metadata?.namespace ?? 'default',
    selector: labelSelectorFromObject(o.spec?.selector ?? null),
    disruptionsAllowed: o.status?.disruptionsAllowed ?? 0,
    disruptedPods: o.status?.disruptedPods ?? {},
  }));
}

/** Splits pods (order kept) into those whose eviction would exceed a PDB budget and the rest. */
export function splitByPdbViolation(pods: PodInfo[], pdbs: Pdb[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.disruptionsAllowed);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of pods) {
    const labels = pi.pod.metadata?.labels;
    let violated = false;
    if (labels && Object.keys(labels).length) {
      pdbs.forEach((pdb, i) => {
        if (pdb.namespace !== (pi.pod.metadata?.namespace ?? 'default')) return;
        const empty = Array.isArray(pdb.selector.requirements) && pdb.selector.requirements.length === 0;
        if (empty || !pdb.selector.matches(labels)) return; // nil or empty selector matches nothing
        if (Object.prototype.hasOwnProperty.call(pdb.disruptedPods, pi.pod.metadata?.name ?? '')) return;
        allowed[i]--;
        if (allowed[i] < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(pi);
  }
  return { violating, nonViolating };
}

/** "0/N nodes are available: ..." as upstream's FitError builds it (count-prefixed reasons, byte-sorted). */
function fitErrorMessage(numAllNodes: number, statuses: Map<string, Status>, absentReason: string): string {
  const counts = new Map<string, number>();
  for (const st of statuses.values()) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const absent = numAllNodes - statuses.size;
  if (absent > 0) counts.set(absentReason, (counts.get(absentReason) ?? 0) + absent);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let msg = `0/${numAllNodes} nodes are available:`;
  if (parts.length) msg += ` ${parts.join(', ')}.`;
  return msg;
}

/**
 * Upstream pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority
 * victim, smallest priority sum, fewest victims, latest earliest-start among the highest-priority
 * victims; remaining ties go to the first candidate.
 */
export function pickOneNodeForPreemption(candidates: Candidate[], now = Date.now()): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const earliestTopStart = (c: Candidate): number => {
    let top = -Infinity;
    let earliest = Infinity;
    for (const v of c.victims) {
      const p = podPriority(v);
      const t = podStartTime(v, now);
      if (p > top) {
        top = p;
        earliest = t;
      } else if (p === top && t < earliest) earliest = t;
    }
    return earliest;
  };
  const scoreFuncs: Array<(c: Candidate) => number> = [
    (c) => -c.numPDBViolations,
    (c) => -podPriority(c.victims[0]),
    // Shifting by 2^31 keeps negative priorities from rewarding more victims.
    (c) => -c.victims.reduce((sum, v) => sum + podPriority(v) + 2147483648, 0),
    (c) => -c.victims.length,
    (c) => earliestTopStart(c),
  ];
  let pool = candidates;
  for (const f of scoreFuncs) {
    let best = -Infinity;
    let selected: Candidate[] = [];
    for (const c of pool) {
      const s = f(c);
      if (s > best) {
        best = s;
        selected = [c];
      } else if (s === best) selected.push(c);
    }
    if (selected.length === 1) return selected[0];
    pool = selected;
  }
  return pool[0];
}

export const newDefaultPreemption: PluginFactory = (args, handle) => createDefaultPreemption(args, handle);

/** The factory with test hooks: randomOffset picks where the candidate scan starts (upstream: random). */
export function createDefaultPreemption(
  rawArgs: PluginArgs | undefined,
  handle: Handle,
  opts: { randomOffset?: (n: number) => number } = {},
): Plugin {
  const args = (rawArgs ?? {}) as DefaultPreemptionArgs;
  const pct = args.minCandidateNodesPercentage ?? 10;
  const abs = args.minCandidateNodesAbsolute ?? 100;
  const randomOffset = opts.randomOffset ?? ((n: number) => Math.floor(Math.random() * n));

  function numCandidates(numNodes: number): number {
    let n = Math.floor((numNodes * pct) / 100);
    if (n < abs) n = abs;
    return Math.min(n, numNodes);
  }

  function eligible(pod: Pod, filtered: NodeToStatus): string | undefined {
    if (pod.spec?.preemptionPolicy === 'Never') return MSG_PREEMPTION_POLICY_NEVER;
    const nominated: string | undefined = pod.status?.nominatedNodeName;
    if (nominated) {
      // Absent nodes count as UnschedulableAndUnresolvable: preempting again may help.
      const st = filtered.get(nominated);
      if (!st || st.code === Code.UnschedulableAndUnresolvable) return undefined;
      const ni = handle.snapshot.get(nominated);
      const prio = podPriority(pod);
      if (ni && ni.pods.some((p) => podPriority(p.pod) < prio && podTerminatingByPreemption(p.pod))) return MSG_TERMINATING_ON_NOMINATED;
    }
    return undefined;
  }

  const pdbCache = new Map<string, Pdb[]>();
  function pdbsFor(namespaces: Set<string>): Pdb[] {
    const out: Pdb[] = [];
    for (const ns of namespaces) {
      let list = pdbCache.get(ns);
      if (!list) pdbCache.set(ns, (list = compilePdbs(handle.listers.pdbs(ns))));
      out.push(...list);
    }
    return out;
  }

  /** Upstream SelectVictimsOnNode; node and state are this node's private copies. */
  function selectVictimsOnNode(state: CycleState, pod: Pod, node: NodeInfo): { victims: Pod[]; numPDBViolations: number; status: Status } {
    const prio = podPriority(pod);
    const fail = (st: Status) => ({ victims: [], numPDBViolations: 0, status: st });
    const remove = (pi: PodInfo): Status => {
      removePodFromNode(node, pi.pod);
      return handle.runPreFilterRemovePod?.(state, pod, pi, node) ?? Status.success();
    };
    const add = (pi: PodInfo): Status => {
      addPodToNode(node, pi);
      return handle.runPreFilterAddPod?.(state, pod, pi, node) ?? Status.success();
    };
    const filters = () => handle.runFilters?.(state, pod, node) ?? Status.success();

    const potential = node.pods.filter((p) => podPriority(p.pod) < prio);
    for (const pi of potential) {
      const st = remove(pi);
      if (!st.isSuccess()) return fail(Status.error(st.reasons.join(', ')));
    }
    if (potential.length === 0) return fail(Status.unresolvable(REASON_NO_VICTIMS));
    const fit = filters();
    if (!fit.isSuccess()) return fail(fit);

    const now = Date.now();
    const byImportance = (a: PodInfo, b: PodInfo) => (moreImportantPod(a.pod, b.pod, now) ? -1 : moreImportantPod(b.pod, a.pod, now) ? 1 : 0);
    potential.sort(byImportance);
    const namespaces = new Set(potential.map((p) => p.pod.metadata?.namespace ?? 'default'));
    const { violating, nonViolating } = splitByPdbViolation(potential, pdbsFor(namespaces));
    const victims: PodInfo[] = [];
    let numViolating = 0;
    // Returns whether the pod could stay; an error status aborts.
    const reprieve = (pi: PodInfo): boolean | Status => {
      const st = add(pi);
      if (!st.isSuccess()) return Status.error(st.reasons.join(', '));
      if (filters().isSuccess()) return true;
      const rst = remove(pi);
      if (!rst.isSuccess()) return Status.error(rst.reasons.join(', '));
      victims.push(pi);
      return false;
    };
    for (const pi of violating) {
      const r = reprieve(pi);
      if (r instanceof Status) return fail(r);
      if (!r) numViolating++;
    }
    for (const pi of nonViolating) {
      const r = reprieve(pi);
      if (r instanceof Status) return fail(r);
    }
    if (violating.length && nonViolating.length) victims.sort(byImportance);
    return { victims: victims.map((v) => v.pod), numPDBViolations: numViolating, status: Status.success() };
  }

  /** Upstream DryRunPreemption (sequential): stops once enough candidates, one of them PDB-clean, are found. */
  function dryRun(state: CycleState, pod: Pod, potential: NodeInfo[], offset: number, want: number) {
    const clean: Candidate[] = [];
    const violating: Candidate[] = [];
    const statuses = new Map<string, Status>();
    const errors: string[] = [];
    for (let i = 0; i < potential.length; i++) {
      const original = potential[(offset + i) % potential.length];
      const node = cloneNodeInfo(original);
      let { victims, numPDBViolations, status } = selectVictimsOnNode(cloneCycleState(state), pod, node);
      if (status.isSuccess() && victims.length > 0) {
        (numPDBViolations === 0 ? clean : violating).push({ nodeName: original.name, victims, numPDBViolations });
        if (clean.length > 0 && clean.length + violating.length >= want) break;
        continue;
      }
      if (status.isSuccess()) status = Status.error(`expected at least one victim pod on node "${original.name}"`);
      if (status.code === Code.Error) errors.push(status.reasons.join(', '));
      statuses.set(original.name, status);
    }
    return { candidates: [...clean, ...violating], statuses, errors };
  }

  async function prepareCandidate(c: Candidate, pod: Pod): Promise<Status> {
    const waiting = handle as Handle & { getWaitingPod?(uid: string): { reject(plugin: string, msg: string): void } | undefined };
    try {
      await Promise.all(
        c.victims.map(async (victim) => {
          const wp = victim.metadata?.uid ? waiting.getWaitingPod?.(victim.metadata.uid) : undefined;
          if (wp) wp.reject(DEFAULT_PREEMPTION, 'preempted');
          else await handle.deletePod?.(victim, `Preempted by pod ${pod.metadata?.uid ?? ''} on node ${c.nodeName}`);
        }),
      );
    } catch (e) {
      return Status.error((e as Error).message ?? String(e));
    }
    // Lower-priority pods nominated to this node may no longer fit: clear their nomination.
    const prio = podPriority(pod);
    for (const pi of handle.nominatedPods?.(c.nodeName) ?? []) {
      if (podPriority(pi.pod) < prio) {
        try {
          await handle.nominate?.(pi.pod, '');
        } catch {
          // not critical (upstream logs and goes on)
        }
      }
    }
    return Status.success();
  }

  async function preempt(state: CycleState, pod: Pod, filtered: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status }> {
    const notEligible = eligible(pod, filtered);
    if (notEligible) return { status: Status.unschedulable(notEligible) };

    const allNodes = handle.snapshot.nodes();
    if (allNodes.length === 0) return { status: Status.error('no nodes available') };
    // Only nodes that failed with plain Unschedulable can be helped by removing pods.
    const potential = allNodes.filter((n) => filtered.get(n.name)?.code === Code.Unschedulable);
    let candidates: Candidate[] = [];
    let statuses = new Map<string, Status>();
    if (potential.length > 0) {
      pdbCache.clear();
      const r = dryRun(state, pod, potential, randomOffset(potential.length), numCandidates(potential.length));
      if (r.errors.length && r.candidates.length === 0) return { status: Status.error(r.errors.join(', ')) };
      candidates = r.candidates;
      statuses = r.statuses;
    }
    if (candidates.length === 0) {
      // An empty nominatedNodeName clears a stale nomination.
      return { result: { nominatedNodeName: '' }, status: Status.unschedulable(fitErrorMessage(allNodes.length, statuses, REASON_NOT_HELPFUL)) };
    }
    const best = pickOneNodeForPreemption(candidates);
    if (!best) return { status: Status.unschedulable('no candidate node for preemption') };
    const prepared = await prepareCandidate(best, pod);
    if (!prepared.isSuccess()) return { status: prepared };
    try {
      await handle.nominate?.(pod, best.nodeName);
    } catch {
      // the scheduler records the nomination from the result too
    }
    return { result: { nominatedNodeName: best.nodeName }, status: Status.success() };
  }

  return {
    name: DEFAULT_PREEMPTION,
    async postFilter(state, pod, filtered) {
      const r = await preempt(state, pod, filtered);
      const msg = r.status.reasons.join(', ');
      if (!msg) return r;
      // Upstream prefixes every message with "preemption: ".
      const st = new Status(r.status.code, [`preemption: ${msg}`]);
      return { result: r.result, status: st };
    },
  };
}

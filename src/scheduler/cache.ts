// The scheduler's cache (upstream: internal/cache/cache.go): nodes and the pods on them, fed by
// informers, plus "assumed" pods — placed on a node at Reserve, before the binding is written,
// so the next cycle already sees the node's resources taken. The informer confirms an assumed
// pod when the bound pod shows up; a binding that never shows up expires after a TTL.
//
// Each cycle works on a Snapshot. Rebuilding 5,000 NodeInfos per pod would dominate the cycle,
// so the snapshot is updated incrementally: only nodes whose generation moved since the last
// update are re-cloned (the cache keeps the set of such nodes).
import { addPod as addPodToNode, cloneNodeInfo, newNodeInfo, podInfo, removePod as removePodFromNode, setNode } from './framework/node-info.js';
import { PodIndex } from './framework/pod-index.js';
import type { Node, NodeChange, NodeInfo, Pod, PodInfo, Snapshot } from './framework/types.js';

interface PodState {
  pi: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** Set when the binding call returned; the TTL counts from here. */
  deadline?: number;
}

export interface CacheOptions {
  /** How long an assumed pod may wait for the informer after binding (default 15 min; 0: forever). */
  assumedPodTtlMs?: number;
  now?: () => number;
}

const ZONE_LABEL = 'topology.kubernetes.io/zone';
const REGION_LABEL = 'topology.kubernetes.io/region';

function podKey(pod: Pod): string {
  return pod.metadata?.uid || `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

const MAX_LOGGED_CHANGES = 8192;

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [];
  if (ka.length !== (b ? Object.keys(b).length : 0)) return false;
  for (const k of ka) if (a![k] !== b![k]) return false;
  return true;
}

function zoneOf(node: Node): string {
  const l = node.metadata?.labels ?? {};
  return `${l[REGION_LABEL] ?? ''}:\u0000:${l[ZONE_LABEL] ?? ''}`;
}

/** The per-cycle view plugins read; updated in place by SchedulerCache.updateSnapshot. */
export class CacheSnapshot implements Snapshot {
  /** Cache generation this snapshot reflects. */
  generation = 0;
  private list: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  private readonly position = new Map<string, number>();
  private withAffinity: NodeInfo[] = [];
  private withRequiredAntiAffinity: NodeInfo[] = [];
  private readonly index = new PodIndex();
  /** The affinity lists are rebuilt on the first read after a change (a walk over all nodes). */
  private affinityStale = false;
  /** Recent node replacements, so per-plugin memos can catch up instead of recounting. */
  private log: NodeChange[] = [];
  private logStart = 0;
  private seq = 0;
  private labelGeneration = 0;
  /** Image name (as nodes report it) → number of nodes reporting it. */
  private readonly imageNodes = new Map<string, number>();

  nodes(): NodeInfo[] {
    return this.list;
  }
  get(nodeName: string): NodeInfo | undefined {
    return this.byName.get(nodeName);
  }
  havePodsWithAffinity(): NodeInfo[] {
    if (this.affinityStale) this.recomputeAffinity();
    return this.withAffinity;
  }
  havePodsWithRequiredAntiAffinity(): NodeInfo[] {
    if (this.affinityStale) this.recomputeAffinity();
    return this.withRequiredAntiAffinity;
  }
  /** Sequence number of the last change to the node list (one per replaced NodeInfo). */
  changeSeq(): number {
    return this.seq;
  }
  /** NodeInfos replaced after seq, oldest first; undefined when no longer known (recount). */
  changesSince(seq: number): ReadonlyArray<NodeChange> | undefined {
    if (seq < this.logStart || seq > this.seq) return undefined;
    return this.log.slice(seq - this.logStart);
  }

  /** Bumped when node labels may have changed (nodes added, removed, relabelled). */
  nodeLabelGeneration(): number {
    return this.labelGeneration;
  }
  podIndex(): PodIndex {
    return this.index;
  }
  imageNodeCount(name: string): number {
    return this.imageNodes.get(name) ?? 0;
  }

  private countImages(images: Map<string, number>, delta: number): void {
    for (const name of images.keys()) {
      const n = (this.imageNodes.get(name) ?? 0) + delta;
      if (n <= 0) this.imageNodes.delete(name);
      else this.imageNodes.set(name, n);
    }
  }

  /** @internal cache → snapshot: replace the whole node list (node set or order changed). */
  resetList(list: NodeInfo[]): void {
    this.list = list;
    this.byName.clear();
    this.position.clear();
    this.index.clear();
    this.imageNodes.clear();
    this.labelGeneration++;
    this.seq++;
    this.log = [];
    this.logStart = this.seq;
    for (let i = 0; i < list.length; i++) {
      this.byName.set(list[i].name, list[i]);
      this.position.set(list[i].name, i);
      this.index.addNode(list[i]);
      this.countImages(list[i].images, 1);
    }
    this.recomputeAffinity();
  }

  /** @internal replace one node's view in place; false when the node is not in the list. */
  replace(ni: NodeInfo): boolean {
    const i = this.position.get(ni.name);
    if (i === undefined) return false;
    const before = this.list[i];
    if (before.node !== ni.node && !sameLabels(before.node.metadata?.labels, ni.node.metadata?.labels)) this.labelGeneration++;
    this.index.removeNode(before);
    this.index.addNode(ni);
    // Clones share the images map until the node object itself changes.
    if (before.images !== ni.images) {
      this.countImages(before.images, -1);
      this.countImages(ni.images, 1);
    }
    this.list[i] = ni;
    this.byName.set(ni.name, ni);
    this.log.push({ before, after: ni });
    this.seq++;
    if (this.log.length > MAX_LOGGED_CHANGES) {
      const drop = this.log.length >> 1;
      this.log = this.log.slice(drop);
      this.logStart += drop;
    }
    return true;
  }

  /** @internal the affinity lists must be rebuilt before their next use. */
  markAffinityStale(): void {
    this.affinityStale = true;
  }

  /** @internal */
  recomputeAffinity(): void {
    this.affinityStale = false;
    const a: NodeInfo[] = [];
    const r: NodeInfo[] = [];
    for (const n of this.list) {
      if (n.podsWithAffinity.length) a.push(n);
      if (n.podsWithRequiredAntiAffinity.length) r.push(n);
    }
    this.withAffinity = a;
    this.withRequiredAntiAffinity = r;
  }
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  /** Pods bound to nodes the cache does not know (yet, or any more): node name → pod key → PodInfo. */
  private readonly orphans = new Map<string, Map<string, PodInfo>>();
  private generation = 0;
  private readonly dirty = new Set<string>();
  private nodeSetChanged = true;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: CacheOptions = {}) {
    this.ttlMs = opts.assumedPodTtlMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  get currentGeneration(): number {
    return this.generation;
  }
  nodeCount(): number {
    return this.nodes.size;
  }
  podCount(): number {
    return this.pods.size;
  }
  /** The live NodeInfo (mutated by the cache; plugins should read the snapshot). */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  private touch(ni: NodeInfo): void {
    ni.generation = ++this.generation;
    this.dirty.add(ni.name);
  }

  // ---- nodes ----

  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const existing = this.nodes.get(name);
    if (existing) return this.updateNode(node);
    const ni = newNodeInfo(node);
    const orphans = this.orphans.get(name);
    if (orphans) {
      for (const pi of orphans.values()) addPodToNode(ni, pi);
      this.orphans.delete(name);
    }
    this.nodes.set(name, ni);
    this.touch(ni);
    this.nodeSetChanged = true;
  }

  updateNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const ni = this.nodes.get(name);
    if (!ni) return this.addNode(node);
    if (zoneOf(ni.node) !== zoneOf(node)) this.nodeSetChanged = true;
    setNode(ni, node);
    this.touch(ni);
  }

  /** The node is gone; its pods stay known until their own deletes arrive. */
  removeNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.nodes.delete(name);
    if (ni.pods.length) {
      const m = new Map<string, PodInfo>();
      for (const pi of ni.pods) m.set(podKey(pi.pod), pi);
      this.orphans.set(name, m);
    }
    this.generation++;
    this.nodeSetChanged = true;
  }

  private placePod(pi: PodInfo, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (ni) {
      addPodToNode(ni, pi);
      this.touch(ni);
      return;
    }
    let m = this.orphans.get(nodeName);
    if (!m) this.orphans.set(nodeName, (m = new Map()));
    m.set(podKey(pi.pod), pi);
  }

  private unplacePod(pod: Pod, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (ni) {
      if (removePodFromNode(ni, pod)) this.touch(ni);
      return;
    }
    const m = this.orphans.get(nodeName);
    m?.delete(podKey(pod));
    if (m && m.size === 0) this.orphans.delete(nodeName);
  }

  // ---- pods (assigned ones, from the informer) ----

  /** A bound pod appeared: confirms an assumed pod, or adds it. */
  addPod(pod: Pod): void {
    const k = podKey(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    const st = this.pods.get(k);
    if (st) {
      // Confirmation of an assumed pod (or a duplicate add): take the informer's version.
      this.unplacePod(st.pi.pod, st.nodeName);
    }
    const pi = podInfo(pod);
    this.placePod(pi, nodeName);
    this.pods.set(k, { pi, nodeName, assumed: false });
  }

  updatePod(_oldPod: Pod | undefined, pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    const k = podKey(pod);
    const st = this.pods.get(k);
    if (!st) return;
    this.unplacePod(st.pi.pod, st.nodeName);
    this.pods.delete(k);
  }

  // ---- assumed pods ----

  /**
   * Places pod on nodeName before the binding is written. Returns the assumed pod (a shallow
   * copy with spec.nodeName set). Throws if the pod is already in the cache.
   */
  assumePod(pi: PodInfo, nodeName: string): Pod {
    const k = podKey(pi.pod);
    if (this.pods.has(k)) throw new Error(`pod ${pi.pod.metadata?.namespace}/${pi.pod.metadata?.name} is in the cache, so can't be assumed`);
    const assumed: Pod = { ...pi.pod, spec: { ...pi.pod.spec, nodeName } };
    const api: PodInfo = { ...pi, pod: assumed };
    this.placePod(api, nodeName);
    this.pods.set(k, { pi: api, nodeName, assumed: true });
    return assumed;
  }

  /** The binding call finished: start the expiry clock. */
  finishBinding(pod: Pod): void {
    const st = this.pods.get(podKey(pod));
    if (st?.assumed && this.ttlMs > 0) st.deadline = this.now() + this.ttlMs;
  }

  /** Undoes assumePod (the binding failed or a later stage rejected the pod). */
  forgetPod(pod: Pod): void {
    const k = podKey(pod);
    const st = this.pods.get(k);
    if (!st || !st.assumed) return;
    this.unplacePod(st.pi.pod, st.nodeName);
    this.pods.delete(k);
  }

  isAssumed(pod: Pod): boolean {
    return this.pods.get(podKey(pod))?.assumed === true;
  }

  /** Known (bound or assumed) to the cache. */
  hasPod(pod: Pod): boolean {
    return this.pods.has(podKey(pod));
  }

  /** Drops assumed pods whose binding finished more than the TTL ago without the informer confirming it. */
  cleanupExpiredAssumedPods(): Pod[] {
    const now = this.now();
    const expired: Pod[] = [];
    for (const [k, st] of this.pods) {
      if (!st.assumed || st.deadline === undefined || st.deadline > now) continue;
      this.unplacePod(st.pi.pod, st.nodeName);
      this.pods.delete(k);
      expired.push(st.pi.pod);
    }
    return expired;
  }

  // ---- snapshot ----

  /**
   * Brings snapshot up to date: re-clones only nodes changed since the last call; rebuilds the
   * node order (zones interleaved, as upstream's node tree) only when nodes come or go.
   */
  updateSnapshot(snapshot: CacheSnapshot): void {
    if (snapshot.generation === this.generation && !this.nodeSetChanged) return;
    if (this.nodeSetChanged) {
      const list: NodeInfo[] = [];
      for (const name of this.nodeOrder()) {
        const live = this.nodes.get(name)!;
        const have = snapshot.get(name);
        list.push(have && have.generation === live.generation && !this.dirty.has(name) ? have : cloneNodeInfo(live));
      }
      snapshot.resetList(list);
      this.nodeSetChanged = false;
    } else {
      let affinityTouched = false;
      for (const name of this.dirty) {
        const live = this.nodes.get(name);
        if (!live) continue;
        const before = snapshot.get(name);
        if (before && before.generation === live.generation) continue;
        if (before && (before.podsWithAffinity.length || before.podsWithRequiredAntiAffinity.length)) affinityTouched = true;
        if (live.podsWithAffinity.length || live.podsWithRequiredAntiAffinity.length) affinityTouched = true;
        snapshot.replace(cloneNodeInfo(live));
      }
      if (affinityTouched) snapshot.markAffinityStale();
    }
    this.dirty.clear();
    snapshot.generation = this.generation;
  }

  /** Node names, round robin across zones (so a sampled prefix spans zones). */
  private nodeOrder(): string[] {
    const zones = new Map<string, string[]>();
    for (const [name, ni] of this.nodes) {
      const z = zoneOf(ni.node);
      let l = zones.get(z);
      if (!l) zones.set(z, (l = []));
      l.push(name);
    }
    if (zones.size <= 1) return [...this.nodes.keys()];
    const lists = [...zones.values()];
    const out: string[] = [];
    for (let i = 0; out.length < this.nodes.size; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
    return out;
  }
}

// The scheduling queue (upstream: internal/queue/scheduling_queue.go). Three places a pending pod
// can be:
//   activeQ           — ready to schedule: a heap by priority (high first), then queue time
//                       (upstream's PrioritySort);
//   backoffQ          — failed recently: waits 1 s, 2 s, 4 s ... up to 10 s per attempt;
//   unschedulablePods — did not fit: waits for a cluster event one of the rejecting plugins
//                       registered (node added, pod deleted, ...), or 5 minutes at most.
// Pods with spec.schedulingGates wait in unschedulablePods until an update removes the gates.
// The queue also tracks nominated pods (preemptors waiting on a node for victims to leave).
import { podInfo } from './framework/node-info.js';
import type { ClusterEvent, Pod, PodInfo } from './framework/types.js';

export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When the pod was (re)added to the queue; ordering tie-breaker. */
  timestamp: number;
  /** When the pod was first added; for metrics / latency. */
  initialAttemptTimestamp: number;
  /** Scheduling attempts so far (drives backoff). */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** Held back by schedulingGates. */
  gated: boolean;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest stay in unschedulablePods without an event (upstream: 5 min). */
  maxInUnschedulableMs?: number;
  /** Events each plugin registered; a plugin missing from the map (or mapped to undefined) gets all events. */
  eventsByPlugin?: Map<string, ClusterEvent[] | undefined>;
  now?: () => number;
}

function podKey(pod: Pod): string {
  return pod.metadata?.uid || `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function priorityOf(pod: Pod): number {
  return typeof pod.spec?.priority === 'number' ? pod.spec.priority : 0;
}

export function isGated(pod: Pod): boolean {
  return Array.isArray(pod.spec?.schedulingGates) && pod.spec.schedulingGates.length > 0;
}

/** A binary heap with O(log n) update/delete by key. */
export class KeyedHeap<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    private readonly keyOf: (t: T) => string,
    private readonly less: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.items.length;
  }
  has(key: string): boolean {
    return this.index.has(key);
  }
  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }
  peek(): T | undefined {
    return this.items[0];
  }
  values(): readonly T[] {
    return this.items;
  }

  /** Adds, or replaces the item with the same key. */
  push(t: T): void {
    const k = this.keyOf(t);
    const i = this.index.get(k);
    if (i !== undefined) {
      this.items[i] = t;
      this.fix(i);
      return;
    }
    this.items.push(t);
    this.index.set(k, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  delete(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const t = this.items[i];
    this.removeAt(i);
    return t;
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    this.index.delete(this.keyOf(this.items[i]));
    if (i !== last) {
      this.items[i] = this.items[last];
      this.index.set(this.keyOf(this.items[i]), i);
    }
    this.items.pop();
    if (i < this.items.length) this.fix(i);
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private up(i: number): boolean {
    const start = i;
    const it = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(it[i], it[parent])) break;
      this.swap(i, parent);
      i = parent;
    }
    return i !== start;
  }

  private down(i: number): void {
    const it = this.items;
    const n = it.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      let m = l;
      if (l + 1 < n && this.less(it[l + 1], it[l])) m = l + 1;
      if (!this.less(it[m], it[i])) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const it = this.items;
    const t = it[a];
    it[a] = it[b];
    it[b] = t;
    this.index.set(this.keyOf(it[a]), a);
    this.index.set(this.keyOf(it[b]), b);
  }
}

/** Does a registered event cover what happened? Resource must match; 'All' and 'Update*' widen. */
export function eventMatches(registered: ClusterEvent, happened: ClusterEvent): boolean {
  if (registered.resource !== happened.resource) return false;
  const r = registered.action;
  const h = happened.action;
  if (r === 'All' || h === 'All' || r === h) return true;
  if (r === 'Update' && h.startsWith('Update')) return true;
  if (h === 'Update' && r.startsWith('Update')) return true;
  return false;
}

const NONE: PodInfo[] = [];

export class SchedulingQueue {
  private readonly activeQ: KeyedHeap<QueuedPodInfo>;
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Pods popped and being scheduled now (their updates are remembered for requeueing). */
  private readonly inFlight = new Set<string>();
  /** Cycle counter: incremented on every pop. */
  private cycle = 0;
  /** The cycle during which the last "move all" happened (pods failing in it go to backoff, not unschedulable). */
  private moveRequestCycle = -1;
  private readonly waiters: Array<(q: QueuedPodInfo | undefined) => void> = [];
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxInUnschedulableMs: number;
  eventsByPlugin: Map<string, ClusterEvent[] | undefined>;
  private readonly now: () => number;
  /** Nominated pods: node name → pod key → PodInfo; and pod key → node name. */
  private readonly nominatedByNode = new Map<string, Map<string, PodInfo>>();
  private readonly nominatedNodeOf = new Map<string, string>();

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 5 * 60_000;
    this.eventsByPlugin = opts.eventsByPlugin ?? new Map();
    this.now = opts.now ?? Date.now;
    const key = (q: QueuedPodInfo) => podKey(q.podInfo.pod);
    this.activeQ = new KeyedHeap(key, (a, b) => {
      const pa = priorityOf(a.podInfo.pod);
      const pb = priorityOf(b.podInfo.pod);
      return pa > pb || (pa === pb && a.timestamp < b.timestamp);
    });
    this.backoffQ = new KeyedHeap(key, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  }

  /** Starts the periodic flushes (backoff every second, unschedulable leftovers every 30 s). */
  run(): void {
    const a = setInterval(() => this.flushBackoffCompleted(), 1000);
    const b = setInterval(() => this.flushUnschedulableLeftover(), 30_000);
    a.unref?.();
    b.unref?.();
    this.timers.push(a, b);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get schedulingCycle(): number {
    return this.cycle;
  }

  /** Sizes, for tests and debugging. */
  stats(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size };
  }

  /** Where a pod is ("active" | "backoff" | "unschedulable" | undefined). */
  where(pod: Pod): 'active' | 'backoff' | 'unschedulable' | undefined {
    const k = podKey(pod);
    if (this.activeQ.has(k)) return 'active';
    if (this.backoffQ.has(k)) return 'backoff';
    if (this.unschedulable.has(k)) return 'unschedulable';
    return undefined;
  }

  private newQueued(pod: Pod): QueuedPodInfo {
    const t = this.now();
    return { podInfo: podInfo(pod), timestamp: t, initialAttemptTimestamp: t, attempts: 0, unschedulablePlugins: new Set(), gated: false };
  }

  /** A new pending pod (informer add). Gated pods wait in unschedulablePods. */
  add(pod: Pod): void {
    const q = this.newQueued(pod);
    this.addNominated(q.podInfo);
    this.enqueueActive(q);
  }

  /** Pushes to activeQ unless gated (then parks it). */
  private enqueueActive(q: QueuedPodInfo): void {
    const k = podKey(q.podInfo.pod);
    if (isGated(q.podInfo.pod)) {
      q.gated = true;
      this.unschedulable.set(k, q);
      return;
    }
    q.gated = false;
    this.unschedulable.delete(k);
    this.backoffQ.delete(k);
    this.activeQ.push(q);
    this.wake();
  }

  private wake(): void {
    while (this.waiters.length && this.activeQ.size) this.waiters.shift()!(this.popNow());
  }

  private popNow(): QueuedPodInfo | undefined {
    const q = this.activeQ.pop();
    if (!q) return undefined;
    q.attempts++;
    this.cycle++;
    this.inFlight.add(podKey(q.podInfo.pod));
    return q;
  }

  /** The next pod to schedule; waits while activeQ is empty. Resolves undefined once closed or signal aborts. */
  pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    if (this.closed || signal?.aborted) return Promise.resolve(undefined);
    if (this.activeQ.size) return Promise.resolve(this.popNow());
    return new Promise((resolve) => {
      const waiter = (q: QueuedPodInfo | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(q);
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The scheduling attempt of a popped pod ended (bound, requeued or dropped). */
  done(pod: Pod): void {
    this.inFlight.delete(podKey(pod));
  }

  /** Pod spec/labels changed while pending. */
  update(oldPod: Pod | undefined, pod: Pod): void {
    const k = podKey(pod);
    this.updateNominated(oldPod, pod);
    const inActive = this.activeQ.get(k);
    if (inActive) {
      inActive.podInfo = podInfo(pod);
      this.activeQ.push(inActive);
      return;
    }
    const inBackoff = this.backoffQ.get(k);
    if (inBackoff) {
      inBackoff.podInfo = podInfo(pod);
      this.backoffQ.push(inBackoff);
      return;
    }
    const parked = this.unschedulable.get(k);
    if (parked) {
      parked.podInfo = podInfo(pod);
      if (oldPod && !specChanged(oldPod, pod)) return;
      // An update that could make it fit (or ungated it): try again, respecting backoff.
      this.unschedulable.delete(k);
      if (parked.gated) {
        if (isGated(pod)) {
          this.unschedulable.set(k, parked);
          return;
        }
        parked.timestamp = this.now();
        this.enqueueActive(parked);
      } else if (this.isBackingOff(parked)) this.backoffQ.push(parked);
      else this.enqueueActive(parked);
      return;
    }
    if (this.inFlight.has(k)) return; // the cycle in progress will requeue it
    this.add(pod);
  }

  delete(pod: Pod): void {
    const k = podKey(pod);
    this.deleteNominated(pod);
    this.activeQ.delete(k);
    this.backoffQ.delete(k);
    this.unschedulable.delete(k);
    this.inFlight.delete(k);
  }

  /**
   * A scheduling attempt failed. The pod goes to unschedulablePods, unless a move request
   * happened during its attempt (something changed that may make it fit): then to backoffQ.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, podSchedulingCycle: number, opts: { error?: boolean } = {}): void {
    const k = podKey(q.podInfo.pod);
    this.inFlight.delete(k);
    if (this.activeQ.has(k) || this.backoffQ.has(k) || this.unschedulable.has(k)) return;
    q.timestamp = this.now();
    // Errors (not "does not fit") are retried after backoff, as upstream.
    if (opts.error || this.moveRequestCycle >= podSchedulingCycle) this.backoffQ.push(q);
    else this.unschedulable.set(k, q);
  }

  /** Backoff for the pod's attempts: initial·2^(attempts−1), capped. */
  backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < q.attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  isBackingOff(q: QueuedPodInfo): boolean {
    return this.backoffExpiry(q) > this.now();
  }

  /** Moves pods whose backoff ended to activeQ. */
  flushBackoffCompleted(): void {
    const now = this.now();
    for (;;) {
      const top = this.backoffQ.peek();
      if (!top || this.backoffExpiry(top) > now) return;
      this.backoffQ.pop();
      this.enqueueActive(top);
    }
  }

  /** Pods parked longer than maxInUnschedulableMs get another try. */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    const stale: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) if (!q.gated && now - q.timestamp >= this.maxInUnschedulableMs) stale.push(q);
    this.moveToActiveOrBackoff(stale);
  }

  /**
   * A cluster event happened: unschedulable pods that one of their rejecting plugins cares about
   * move to activeQ (or backoffQ while backing off). preCheck can veto a pod (e.g. a node it
   * could never fit on).
   */
  moveAllToActiveOrBackoff(event: ClusterEvent, preCheck?: (pod: Pod) => boolean): void {
    const moving: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) {
      if (q.gated) continue;
      if (!this.podCaresAbout(q, event)) continue;
      if (preCheck && !preCheck(q.podInfo.pod)) continue;
      moving.push(q);
    }
    this.moveToActiveOrBackoff(moving);
    this.moveRequestCycle = this.cycle;
  }

  private podCaresAbout(q: QueuedPodInfo, event: ClusterEvent): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const plugin of q.unschedulablePlugins) {
      const events = this.eventsByPlugin.get(plugin);
      if (!events) return true;
      for (const e of events) if (eventMatches(e, event)) return true;
    }
    return false;
  }

  private moveToActiveOrBackoff(list: QueuedPodInfo[]): void {
    for (const q of list) {
      const k = podKey(q.podInfo.pod);
      this.unschedulable.delete(k);
      if (this.isBackingOff(q)) this.backoffQ.push(q);
      else this.enqueueActive(q);
    }
  }

  // ---- nominated pods ----

  /** Records pod as nominated to nodeName (status.nominatedNodeName, or the preemption result). */
  addNominated(pi: PodInfo, nodeName?: string): void {
    const name = nodeName ?? pi.pod.status?.nominatedNodeName;
    const k = podKey(pi.pod);
    this.deleteNominatedKey(k);
    if (!name) return;
    let m = this.nominatedByNode.get(name);
    if (!m) this.nominatedByNode.set(name, (m = new Map()));
    m.set(k, pi);
    this.nominatedNodeOf.set(k, name);
  }

  private updateNominated(oldPod: Pod | undefined, pod: Pod): void {
    const k = podKey(pod);
    const had = this.nominatedNodeOf.get(k);
    const now = pod.status?.nominatedNodeName;
    // Keep a nomination the scheduler made even if the update has not carried it yet.
    if (!now && had && !oldPod?.status?.nominatedNodeName) {
      this.addNominated(podInfo(pod), had);
      return;
    }
    if (had || now) this.addNominated(podInfo(pod), now);
  }

  deleteNominated(pod: Pod): void {
    this.deleteNominatedKey(podKey(pod));
  }

  private deleteNominatedKey(k: string): void {
    const node = this.nominatedNodeOf.get(k);
    if (!node) return;
    this.nominatedNodeOf.delete(k);
    const m = this.nominatedByNode.get(node);
    m?.delete(k);
    if (m && m.size === 0) this.nominatedByNode.delete(node);
  }

  nominatedPodsForNode(nodeName: string): PodInfo[] {
    const m = this.nominatedByNode.get(nodeName);
    return m ? [...m.values()] : NONE;
  }

  /** True when any pod is nominated anywhere (lets the hot loop skip the lookup). */
  hasNominatedPods(): boolean {
    return this.nominatedByNode.size > 0;
  }

  /** Pending pods (all three queues), for debugging. */
  pendingPods(): Pod[] {
    const out: Pod[] = [];
    for (const q of this.activeQ.values()) out.push(q.podInfo.pod);
    for (const q of this.backoffQ.values()) out.push(q.podInfo.pod);
    for (const q of this.unschedulable.values()) out.push(q.podInfo.pod);
    return out;
  }
}

/** Did anything but status/metadata bookkeeping change (labels, annotations, spec)? */
function specChanged(a: Pod, b: Pod): boolean {
  return (
    JSON.stringify(a.spec) !== JSON.stringify(b.spec) ||
    JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {})
  );
}

// The taint-eviction controller (upstream pkg/controller/tainteviction, the former taint
// manager): pods on a node with NoExecute taints they do not tolerate are deleted at once;
// pods tolerating them for tolerationSeconds are deleted when that runs out, unless the taint
// goes away first. Each pod has at most one scheduled eviction, timed precisely.
import type { KObject } from '../../api/types.js';
import { GVR, clientLog, isNotFound, rfc3339, sleep, type EventRecorder, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { TAINT_EFFECT_NO_EXECUTE, getMatchingTolerations, minTolerationSeconds, type Taint } from '../../scheduler/plugins/helpers/taints.js';
import type { Controller, ControllerContext } from '../types.js';
import { ensurePodNodeIndex, podsOnNode } from './pods.js';

/** setTimeout's longest delay; longer evictions re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DELETE_RETRIES = 5;

interface ScheduledEviction {
  createdAt: number;
  fireAt: number;
  timer: NodeJS.Timeout;
}

function noExecuteTaints(node: KObject | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t: Taint) => t.effect === TAINT_EFFECT_NO_EXECUTE);
}

function sameTaints(a: Taint[], b: Taint[]): boolean {
  return a.length === b.length && a.every((t, i) => t.key === b[i]!.key && (t.value ?? '') === (b[i]!.value ?? ''));
}

function podKey(pod: KObject): string {
  return `${pod.metadata!.namespace}/${pod.metadata!.name}`;
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction';
  private readonly scheduled = new Map<string, ScheduledEviction>();
  private readonly inFlight = new Set<Promise<void>>();
  private nodes!: SharedInformer;
  private pods!: SharedInformer;
  private podClient!: ResourceClient;
  private recorder!: EventRecorder;
  private running = false;
  private signal!: AbortSignal;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.signal = ctx.signal;
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.pods = ctx.informers.informer(GVR.pods);
    ensurePodNodeIndex(this.pods);
    this.podClient = ctx.client.pods;
    this.recorder = ctx.recorder('taint-eviction-controller');
    this.nodes.addEventHandler({
      onAdd: (n) => this.nodeChanged(n, []),
      onUpdate: (old, n) => {
        const before = noExecuteTaints(old);
        if (old !== n && !sameTaints(before, noExecuteTaints(n))) this.nodeChanged(n, before);
      },
      onDelete: (n) => {
        for (const pod of podsOnNode(this.pods, n.metadata!.name!)) this.cancel(podKey(pod), undefined);
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podChanged(undefined, p),
      onUpdate: (old, p) => this.podChanged(old, p),
      onDelete: (p) => this.cancel(podKey(p), undefined),
    });
    return (async () => {
      await ready;
      if (ctx.signal.aborted) return;
      this.running = true;
      // Everything seen while the caches filled in.
      for (const node of this.nodes.list()) if (noExecuteTaints(node).length) this.nodeChanged(node, []);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      this.running = false;
      for (const s of this.scheduled.values()) clearTimeout(s.timer);
      this.scheduled.clear();
      await Promise.allSettled([...this.inFlight]);
    })();
  }

  private nodeChanged(node: KObject, _before: Taint[]): void {
    if (!this.running) return;
    const taints = noExecuteTaints(node);
    for (const pod of podsOnNode(this.pods, node.metadata!.name!)) this.processPod(pod, taints);
  }

  private podChanged(old: KObject | undefined, pod: KObject): void {
    if (!this.running) return;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    if (old && old.spec?.nodeName === nodeName && JSON.stringify(old.spec?.tolerations ?? []) === JSON.stringify(pod.spec?.tolerations ?? []) && !!old.metadata?.deletionTimestamp === !!pod.metadata?.deletionTimestamp) return;
    this.processPod(pod, noExecuteTaints(this.nodes.get(null, nodeName)));
  }

  /** Decides the pod's fate under the node's NoExecute taints (upstream processPodOnNode). */
  private processPod(pod: KObject, taints: Taint[]): void {
    const key = podKey(pod);
    if (pod.metadata?.deletionTimestamp) {
      // Already going away; nothing left for us to do.
      this.cancel(key, undefined);
      return;
    }
    if (taints.length === 0) {
      this.cancel(key, pod);
      return;
    }
    const { tolerated, matching } = getMatchingTolerations(taints, pod.spec?.tolerations);
    const now = Date.now();
    if (!tolerated) {
      this.cancel(key, pod);
      this.schedule(pod, now, now);
      return;
    }
    const seconds = minTolerationSeconds(matching);
    if (seconds < 0) {
      // Tolerated forever.
      this.cancel(key, pod);
      return;
    }
    // An eviction already scheduled started earlier, so it fires no later than a new one would.
    if (this.scheduled.has(key)) return;
    this.schedule(pod, now, now + seconds * 1000);
  }

  private schedule(pod: KObject, createdAt: number, fireAt: number): void {
    const key = podKey(pod);
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid;
    const arm = (): NodeJS.Timeout =>
      setTimeout(() => {
        const s = this.scheduled.get(key);
        if (!s || s.timer !== entry.timer) return;
        if (Date.now() < s.fireAt) {
          s.timer = arm();
          entry.timer = s.timer;
          return;
        }
        this.scheduled.delete(key);
        const p = this.evict(ns, name, uid).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }, Math.min(MAX_TIMER_MS, Math.max(0, fireAt - Date.now())));
    const entry: ScheduledEviction = { createdAt, fireAt, timer: undefined as unknown as NodeJS.Timeout };
    entry.timer = arm();
    this.scheduled.set(key, entry);
  }

  private cancel(key: string, pod: KObject | undefined): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    this.scheduled.delete(key);
    if (pod) this.recorder.event(pod, 'Normal', 'TaintManagerEviction', 'Cancel', `Cancelling deletion of Pod ${key}`);
  }

  /** Marks the pod as a disruption target and deletes it (retrying a few times). */
  private async evict(ns: string, name: string, uid: string | undefined): Promise<void> {
    const cached = this.pods.get(ns, name);
    if (!cached || (uid && cached.metadata?.uid !== uid) || cached.metadata?.deletionTimestamp) return;
    this.recorder.event(cached, 'Normal', 'TaintManagerEviction', 'Delete', `Marking for deletion Pod ${ns}/${name}`);
    for (let attempt = 0; attempt < DELETE_RETRIES && !this.signal.aborted; attempt++) {
      try {
        await this.addDisruptionCondition(ns, name);
        await this.podClient.delete(ns, name, uid ? { preconditions: { uid } } : {});
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        clientLog('warning', `taint-eviction: deleting pod ${ns}/${name}: ${(e as Error).message}`);
        await sleep(10 * 2 ** attempt, this.signal).catch(() => undefined);
      }
    }
  }

  private async addDisruptionCondition(ns: string, name: string): Promise<void> {
    const pod = this.pods.get(ns, name);
    const conditions: any[] = pod?.status?.conditions ?? [];
    if (!pod || conditions.some((c) => c.type === 'DisruptionTarget' && c.status === 'True')) return;
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
      lastTransitionTime: rfc3339(),
    };
    try {
      await this.podClient.updateStatus(ns, { ...pod, status: { ...pod.status, conditions: [...conditions.filter((c) => c.type !== 'DisruptionTarget'), condition] } });
    } catch (e) {
      // The condition is informative: a conflict or a vanished pod must not stop the deletion.
      if (isNotFound(e)) throw e;
    }
  }

  /** For tests: pods with a pending eviction. */
  get scheduledCount(): number {
    return this.scheduled.size;
  }
}

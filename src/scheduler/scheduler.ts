// The scheduler (upstream: pkg/scheduler/scheduler.go, schedule_one.go, eventhandlers.go):
// informers feed the cache (assigned pods, nodes) and the queue (pending pods for our profiles);
// one loop pops a pod, runs its profile's scheduling cycle on a fresh snapshot, assumes the pod
// on the chosen node and starts the binding cycle without waiting for it. Failures are reported
// as a FailedScheduling event plus the pod's PodScheduled=False condition, and the pod is
// requeued. Only the holder of Lease kube-system/kube-scheduler schedules.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KObject } from '../api/types.js';
import { labelSelectorFromObject } from '../apiserver/selectors.js';
import {
  EventRecorder,
  GVR,
  LeaderElector,
  SharedInformerFactory,
  isConflict,
  isNotFound,
  type Client,
  type SharedInformer,
} from '../client/index.js';
import { SchedulerCache, CacheSnapshot } from './cache.js';
import { defaultSchedulerConfig, type SchedulerConfig } from './config.js';
import { podInfo } from './framework/node-info.js';
import { Framework, NoNodesError, type FitErrorWithNomination, type FrameworkServices } from './framework/runtime.js';
import { Code, CycleState, type ClusterEvent, type ClusterEventAction, type Listers, type Pod, type Status } from './framework/types.js';
import { FitError, scheduledMessage } from './messages.js';
import { DEFAULT_PLUGINS, inTreeRegistry } from './plugins/index.js';
import { ANN_BOUND_BY_CONTROLLER } from './plugins/volume-binding.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { LatencyHistogram } from './metrics.js';

export interface StartSchedulerOptions {
  client: Client;
  /** Parsed configuration; default: one default-scheduler profile with the default plugins. */
  config?: SchedulerConfig;
  /** Leader election identity (upstream: hostname_uuid). */
  identity: string;
  leaderElect: boolean;
  /** Test hook: assumed-pod TTL after binding (default 15 min). */
  assumedPodTtlMs?: number;
  /** Logger (default: stderr). */
  log?: (msg: string) => void;
}

export interface RunningScheduler {
  stop(): Promise<void>;
  /** The running instance (tests and metrics). */
  scheduler: Scheduler;
}

/** Longest run of scheduling cycles before yielding to other I/O. */
const YIELD_EVERY_MS = 5;

/** Starts informers, campaigns for the Lease when leaderElect, and schedules while leading. */
export async function startScheduler(opts: StartSchedulerOptions): Promise<RunningScheduler> {
  const config = opts.config ?? (await defaultSchedulerConfig({ registry: inTreeRegistry(), defaultPlugins: DEFAULT_PLUGINS }));
  const s = new Scheduler(opts.client, config, { identity: opts.identity, assumedPodTtlMs: opts.assumedPodTtlMs, log: opts.log });
  await s.start();
  const abort = new AbortController();
  let campaign: Promise<void>;
  if (opts.leaderElect) {
    const le = config.leaderElection;
    campaign = (async () => {
      // A lost lease stops scheduling; the candidate campaigns again (upstream exits instead).
      while (!abort.signal.aborted) {
        const elector = new LeaderElector({
          client: opts.client,
          name: le.resourceName,
          namespace: le.resourceNamespace,
          identity: opts.identity,
          leaseDurationMs: le.leaseDurationMs,
          renewDeadlineMs: le.renewDeadlineMs,
          retryPeriodMs: le.retryPeriodMs,
          callbacks: {
            onStartedLeading: (signal) => s.run(signal),
            onStoppedLeading: () => {
              if (!abort.signal.aborted) s.log(`scheduler ${opts.identity}: leader election lost`);
            },
          },
        });
        await elector.run(abort.signal);
      }
    })();
  } else campaign = s.run(abort.signal);
  return {
    scheduler: s,
    async stop() {
      abort.abort();
      await s.stop();
      await campaign.catch(() => undefined);
    },
  };
}

/** Identity as upstream builds it: hostname plus a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

const TERMINAL_PHASES = 'status.phase!=Succeeded,status.phase!=Failed';

function nsName(pod: Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

export class Scheduler {
  readonly cache: SchedulerCache;
  readonly snapshot = new CacheSnapshot();
  readonly queue: SchedulingQueue;
  readonly frameworks = new Map<string, Framework>();
  private readonly informers: SharedInformerFactory;
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly pending: SharedInformer;
  private readonly assigned: SharedInformer;
  private readonly nodes: SharedInformer;
  private readonly namespaces: SharedInformer;
  private readonly pvcs: SharedInformer;
  private readonly pvs: SharedInformer;
  private readonly storageClasses: SharedInformer;
  private readonly pdbs: SharedInformer;
  private readonly priorityClasses: SharedInformer;
  private readonly services: SharedInformer;
  private readonly replicaSets: SharedInformer;
  private readonly statefulSets: SharedInformer;
  private timers: NodeJS.Timeout[] = [];
  private readonly bindings = new Set<Promise<void>>();
  private running?: Promise<void>;
  readonly log: (msg: string) => void;
  /** Scheduling-cycle statistics (the synchronous part, up to the start of binding). */
  readonly stats = { attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, cycleMsTotal: 0 };
  /** The synchronous scheduling cycle (upstream: scheduling_algorithm_duration plus assume/reserve/permit). */
  readonly cycleLatency = new LatencyHistogram();
  /** Whole attempts: cycle start to binding done, or to the failure (upstream: scheduling_attempt_duration). */
  readonly attemptLatency = new LatencyHistogram();

  constructor(
    readonly client: Client,
    readonly config: SchedulerConfig,
    opts: { identity?: string; assumedPodTtlMs?: number; log?: (msg: string) => void } = {},
  ) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.cache = new SchedulerCache({ assumedPodTtlMs: opts.assumedPodTtlMs });
    this.queue = new SchedulingQueue({
      initialBackoffMs: config.podInitialBackoffSeconds * 1000,
      maxBackoffMs: config.podMaxBackoffSeconds * 1000,
    });
    const f = (this.informers = new SharedInformerFactory(client));
    this.pending = f.informer(GVR.pods, { fieldSelector: `spec.nodeName=,${TERMINAL_PHASES}` });
    this.assigned = f.informer(GVR.pods, { fieldSelector: `spec.nodeName!=,${TERMINAL_PHASES}` });
    this.nodes = f.informer(GVR.nodes);
    this.namespaces = f.informer(GVR.namespaces);
    this.pvcs = f.informer(GVR.persistentVolumeClaims);
    this.pvs = f.informer(GVR.persistentVolumes);
    this.storageClasses = f.informer(GVR.storageClasses);
    this.pdbs = f.informer(GVR.podDisruptionBudgets);
    this.priorityClasses = f.informer(GVR.priorityClasses);
    this.services = f.informer(GVR.services);
    this.replicaSets = f.informer(GVR.replicaSets);
    this.statefulSets = f.informer(GVR.statefulSets);

    const services = this.frameworkServices();
    for (const profile of config.profiles) {
      const fwk = new Framework({ ...profile, percentageOfNodesToScore: profile.percentageOfNodesToScore ?? config.percentageOfNodesToScore }, config.registry, services);
      this.frameworks.set(profile.schedulerName, fwk);
      this.recorders.set(
        profile.schedulerName,
        new EventRecorder({ client, reportingController: profile.schedulerName, reportingInstance: `${profile.schedulerName}-${opts.identity ?? hostname()}` }),
      );
    }
    // A plugin's interest is the union over profiles (a plugin name means the same plugin everywhere).
    const events = new Map<string, ClusterEvent[] | undefined>();
    for (const fwk of this.frameworks.values())
      for (const [name, evs] of fwk.eventsByPlugin()) {
        if (!events.has(name)) events.set(name, evs);
        else if (evs && events.get(name)) events.set(name, [...events.get(name)!, ...evs]);
        else events.set(name, undefined);
      }
    this.queue.eventsByPlugin = events;
    this.registerHandlers();
  }

  // ---- wiring ----

  private listers(): Listers & Record<string, unknown> {
    // Compiled once per informer object (an update brings a new object): every owned pod's
    // scoring cycle asks for them (PodTopologySpread's default constraints).
    const compiled = new WeakMap<object, ReturnType<typeof labelSelectorFromObject>>();
    const compile = (sel: object, asObject: () => unknown) => {
      let s = compiled.get(sel);
      if (!s) compiled.set(sel, (s = labelSelectorFromObject(asObject())));
      return s;
    };
    const selectorsForPod = (pod: Pod) => {
      const ns = pod.metadata?.namespace ?? 'default';
      const labels = pod.metadata?.labels ?? {};
      const out: Array<{ matches(l: Record<string, string> | undefined): boolean }> = [];
      for (const svc of this.services.store.byNamespace(ns)) {
        const sel = svc.spec?.selector;
        if (!sel || typeof sel !== 'object' || Object.keys(sel).length === 0) continue;
        const s = compile(sel, () => ({ matchLabels: sel }));
        if (s.matches(labels)) out.push(s);
      }
      for (const inf of [this.replicaSets, this.statefulSets])
        for (const o of inf.store.byNamespace(ns)) {
          const sel = o.spec?.selector;
          if (!sel || typeof sel !== 'object') continue;
          const s = compile(sel, () => sel);
          if (s.requirements.length && s.matches(labels)) out.push(s);
        }
      return out;
    };
    return {
      namespaceLabels: (name) => this.namespaces.get(undefined, name)?.metadata?.labels,
      priorityClass: (name) => this.priorityClasses.get(undefined, name),
      pvc: (ns, name) => this.pvcs.get(ns, name),
      pv: (name) => this.pvs.get(undefined, name),
      pdbs: (ns) => this.pdbs.store.byNamespace(ns),
      selectorsForPod,
      storageClass: (name: string) => this.storageClasses.get(undefined, name),
      pvs: () => this.pvs.list(),
    };
  }

  private frameworkServices(): FrameworkServices {
    const client = this.client;
    return {
      snapshot: this.snapshot,
      listers: this.listers(),
      nominatedPods: (node) => this.queue.nominatedPodsForNode(node),
      deletePod: async (pod, reason) => {
        const ns = pod.metadata?.namespace;
        try {
          await client.pods.delete(ns, pod.metadata!.name!, { preconditions: { uid: pod.metadata?.uid } });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          return;
        }
        const rec = this.recorders.get(pod.spec?.schedulerName ?? 'default-scheduler') ?? this.recorders.values().next().value;
        rec?.event(pod, 'Normal', 'Preempted', 'Preempting', reason);
      },
      nominate: async (pod, nodeName) => {
        this.queue.addNominated(podInfo(pod), nodeName);
        await client.pods.patch(pod.metadata?.namespace, pod.metadata!.name!, { status: { nominatedNodeName: nodeName || null } }, 'strategic', {
          subresource: 'status',
        });
      },
      bindPod: async (pod, nodeName) => {
        await client.bind(pod.metadata!.namespace!, pod.metadata!.name!, nodeName, { uid: pod.metadata?.uid });
      },
      annotatePVC: async (namespace: string, name: string, key: string, value: string) => {
        await client.persistentVolumeClaims.patch(namespace, name, { metadata: { annotations: { [key]: value } } }, 'merge');
      },
      bindPV: async (pv: KObject, pvc: KObject) => {
        const claimRef = {
          kind: 'PersistentVolumeClaim',
          apiVersion: 'v1',
          namespace: pvc.metadata?.namespace,
          name: pvc.metadata?.name,
          uid: pvc.metadata?.uid,
          resourceVersion: pvc.metadata?.resourceVersion,
        };
        await client.persistentVolumes.patch(
          undefined,
          pv.metadata!.name!,
          { metadata: { resourceVersion: pv.metadata?.resourceVersion, annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' } }, spec: { claimRef } },
          'merge',
        );
      },
    };
  }

  private responsibleFor(pod: Pod): boolean {
    return this.frameworks.has(pod.spec?.schedulerName || 'default-scheduler');
  }

  private move(resource: ClusterEvent['resource'], action: ClusterEventAction): void {
    this.queue.moveAllToActiveOrBackoff({ resource, action });
  }

  private registerHandlers(): void {
    this.pending.addEventHandler({
      onAdd: (pod) => {
        if (this.responsibleFor(pod) && !pod.metadata?.deletionTimestamp) this.queue.add(pod);
      },
      onUpdate: (oldPod, pod) => {
        if (!this.responsibleFor(pod)) return;
        // Our own status writes (condition, nomination) and assumed pods need no requeue.
        if (this.cache.isAssumed(pod)) return;
        if (pod.metadata?.deletionTimestamp) return this.queue.delete(pod);
        this.queue.update(oldPod, pod);
      },
      onDelete: (pod) => {
        this.queue.delete(pod);
        const uid = pod.metadata?.uid;
        if (uid) for (const fwk of this.frameworks.values()) fwk.rejectWaitingPod(uid, 'pod deleted');
      },
    });
    this.assigned.addEventHandler({
      onAdd: (pod) => {
        this.cache.addPod(pod);
        this.queue.deleteNominated(pod);
        this.move('Pod', 'Add');
      },
      onUpdate: (oldPod, pod) => {
        if (oldPod === pod) return;
        this.cache.updatePod(oldPod, pod);
        const labelsChanged = JSON.stringify(oldPod.metadata?.labels ?? {}) !== JSON.stringify(pod.metadata?.labels ?? {});
        if (labelsChanged) this.move('Pod', 'UpdatePodLabel');
      },
      onDelete: (pod) => {
        this.cache.removePod(pod);
        this.move('Pod', 'Delete');
      },
    });
    this.nodes.addEventHandler({
      onAdd: (node) => {
        this.cache.addNode(node);
        this.move('Node', 'Add');
      },
      onUpdate: (oldNode, node) => {
        if (oldNode === node) return;
        this.cache.updateNode(node);
        const action = nodeUpdateAction(oldNode, node);
        if (action) this.move('Node', action);
      },
      onDelete: (node) => this.cache.removeNode(node),
    });
    const moveOn = (inf: SharedInformer, resource: ClusterEvent['resource']) =>
      inf.addEventHandler({
        onAdd: (_o, initial) => {
          if (!initial) this.move(resource, 'Add');
        },
        onUpdate: (a, b) => {
          if (a !== b) this.move(resource, 'Update');
        },
        onDelete: () => this.move(resource, 'Delete'),
      });
    moveOn(this.pvcs, 'PersistentVolumeClaim');
    moveOn(this.pvs, 'PersistentVolume');
    moveOn(this.storageClasses, 'StorageClass');
    moveOn(this.pdbs, 'PodDisruptionBudget');
    this.namespaces.addEventHandler({
      onAdd: (_o, initial) => {
        if (!initial) this.move('Namespace', 'Add');
      },
      onUpdate: (a, b) => {
        if (JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {})) this.move('Namespace', 'Update');
      },
    });
  }

  /** Starts the informers and waits for their first sync; the queue's periodic flushes start too. */
  async start(): Promise<void> {
    this.informers.start();
    await this.informers.waitForCacheSync();
    this.queue.run();
    const t = setInterval(() => {
      for (const pod of this.cache.cleanupExpiredAssumedPods()) this.log(`scheduler: assumed pod ${nsName(pod)} expired`);
    }, 1000);
    t.unref?.();
    this.timers.push(t);
    // Benchmarks read the latency histograms and memory from a periodic log line.
    const statsMs = Number(process.env.SKIFF_SCHEDULER_STATS_INTERVAL_MS ?? 0);
    if (statsMs > 0) {
      const st = setInterval(() => this.log(`scheduler stats ${JSON.stringify(this.statsSnapshot())}`), statsMs);
      st.unref?.();
      this.timers.push(st);
    }
  }

  /** Counters, cumulative latency histograms (sparse buckets, see metrics.ts) and process memory. */
  statsSnapshot(): Record<string, unknown> {
    const mem = process.memoryUsage();
    return {
      ...this.stats,
      cycle: this.cycleLatency.toSparse(),
      attempt: this.attemptLatency.toSparse(),
      rssMiB: Math.round(mem.rss / 2 ** 20),
      heapUsedMiB: Math.round(mem.heapUsed / 2 ** 20),
      cachedPods: this.cache.podCount(),
    };
  }

  /** Schedules until signal aborts (or stop()). Resolves when the loop has ended. */
  run(signal?: AbortSignal): Promise<void> {
    const loop = async () => {
      // Cycles are synchronous and pop() resolves at once while pods wait, so without a yield a
      // long queue would starve the event loop (in `skiff server`, the API server itself).
      let sliceStart = performance.now();
      while (!signal?.aborted) {
        if (performance.now() - sliceStart > YIELD_EVERY_MS) {
          await new Promise((r) => setImmediate(r));
          sliceStart = performance.now();
        }
        const q = await this.queue.pop(signal);
        if (!q) break;
        try {
          await this.scheduleOne(q);
        } catch (e) {
          this.log(`scheduler: scheduling ${nsName(q.podInfo.pod)}: ${(e as Error)?.stack ?? e}`);
        }
      }
    };
    const p = loop();
    this.running = p;
    return p;
  }

  async stop(): Promise<void> {
    this.queue.close();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const fwk of this.frameworks.values()) fwk.handle.iterateWaitingPods?.((wp) => wp.reject('', 'scheduler stopped'));
    await this.running?.catch(() => undefined);
    await Promise.allSettled([...this.bindings]);
    this.informers.stop();
    await Promise.allSettled([...this.recorders.values()].map((r) => r.stop()));
  }

  /** The current version of a pending pod from the informer (undefined: gone, bound, or replaced). */
  private livePending(pod: Pod): Pod | undefined {
    const cur = this.pending.get(pod.metadata?.namespace, pod.metadata!.name!);
    return cur && cur.metadata?.uid === pod.metadata?.uid ? cur : undefined;
  }

  // ---- one pod ----

  /** The scheduling cycle for one popped pod; the binding cycle continues in the background. */
  async scheduleOne(q: QueuedPodInfo): Promise<void> {
    const pod = q.podInfo.pod;
    const fwk = this.frameworks.get(pod.spec?.schedulerName || 'default-scheduler');
    if (!fwk || pod.metadata?.deletionTimestamp || this.cache.hasPod(pod)) {
      this.queue.done(pod);
      return;
    }
    const start = performance.now();
    this.stats.attempts++;
    const cycle = this.queue.schedulingCycle;
    this.cache.updateSnapshot(this.snapshot);
    const state = new CycleState();
    let nodeName: string;
    try {
      nodeName = (await fwk.schedulePod(state, pod, this.snapshot)).nodeName;
    } catch (e) {
      this.endCycle(start, true);
      if (e instanceof FitError) {
        q.unschedulablePlugins = e.diagnosis.unschedulablePlugins;
        const nominated = (e as FitErrorWithNomination).nominatedNodeName;
        this.handleFailure(fwk, q, 'Unschedulable', e.message, cycle, false, nominated);
      } else if (e instanceof NoNodesError) {
        q.unschedulablePlugins = new Set();
        this.handleFailure(fwk, q, 'Unschedulable', e.message, cycle, false);
      } else this.handleFailure(fwk, q, 'SchedulerError', (e as Error).message, cycle, true);
      return;
    }

    // Assume: the next cycle sees the node's resources as taken before the binding lands.
    const assumed = this.cache.assumePod(q.podInfo, nodeName);
    const reserve = fwk.runReservePluginsReserve(state, assumed, nodeName);
    if (!reserve.isSuccess()) {
      fwk.runReservePluginsUnreserve(state, assumed, nodeName);
      this.cache.forgetPod(assumed);
      this.endCycle(start, true);
      return this.failWithStatus(fwk, q, reserve, cycle);
    }
    const permit = fwk.runPermitPlugins(state, assumed, nodeName);
    if (!permit.isSuccess() && permit.code !== Code.Wait) {
      fwk.runReservePluginsUnreserve(state, assumed, nodeName);
      this.cache.forgetPod(assumed);
      this.endCycle(start, true);
      return this.failWithStatus(fwk, q, permit, cycle);
    }
    this.queue.deleteNominated(pod);
    this.endCycle(start, false);
    const binding = this.bindingCycle(fwk, state, q, assumed, nodeName, cycle, start).catch((e) =>
      this.log(`scheduler: binding ${nsName(pod)}: ${(e as Error)?.stack ?? e}`),
    );
    this.bindings.add(binding);
    void binding.finally(() => this.bindings.delete(binding));
  }

  /** The synchronous part of a cycle ended; a failed cycle also ends the attempt. */
  private endCycle(start: number, failed: boolean): void {
    const ms = performance.now() - start;
    this.stats.cycleMsTotal += ms;
    this.cycleLatency.observe(ms);
    if (failed) this.attemptLatency.observe(ms);
  }

  private failWithStatus(fwk: Framework, q: QueuedPodInfo, st: Status, cycle: number): void {
    if (st.isRejected()) {
      q.unschedulablePlugins = new Set(st.plugin ? [st.plugin] : []);
      this.handleFailure(fwk, q, 'Unschedulable', st.reasons.join(', '), cycle, false);
    } else this.handleFailure(fwk, q, 'SchedulerError', st.reasons.join(', '), cycle, true);
  }

  private async bindingCycle(fwk: Framework, state: CycleState, q: QueuedPodInfo, assumed: Pod, nodeName: string, cycle: number, start: number): Promise<void> {
    const fail = (st: Status) => {
      this.attemptLatency.observe(performance.now() - start);
      fwk.runReservePluginsUnreserve(state, assumed, nodeName);
      this.cache.forgetPod(assumed);
      // The assumed pod's resources are free again: pods it kept out may fit now.
      this.move('Pod', 'Delete');
      this.failWithStatus(fwk, q, st, cycle);
    };
    const permit = await fwk.waitOnPermit(assumed);
    if (!permit.isSuccess()) return fail(permit);
    const pre = await fwk.runPreBindPlugins(state, assumed, nodeName);
    if (!pre.isSuccess()) return fail(pre);
    const bound = await fwk.runBindPlugins(state, assumed, nodeName);
    if (!bound.isSuccess()) {
      // A failed call does not prove the binding was not written (a timeout after the write, or
      // a retried request that found the pod bound). Forgetting a pod that is in fact bound
      // would leave it out of the counts of the next cycles until the informer brings it back
      // (this let a topology spread skew reach maxSkew + 1), so ask the API server first.
      const live = await this.boundPod(assumed);
      if (!live) return fail(bound);
      if (live.spec.nodeName !== nodeName) {
        // Bound elsewhere (another scheduler): the cache takes the pod where it really is.
        fwk.runReservePluginsUnreserve(state, assumed, nodeName);
        this.cache.addPod(live);
        this.queue.done(q.podInfo.pod);
        return;
      }
    }
    this.cache.finishBinding(assumed);
    this.stats.scheduled++;
    this.attemptLatency.observe(performance.now() - start);
    const pod = q.podInfo.pod;
    this.recorders
      .get(fwk.schedulerName)
      ?.event(pod, 'Normal', 'Scheduled', 'Binding', scheduledMessage(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', nodeName));
    fwk.runPostBindPlugins(state, assumed, nodeName);
    this.queue.done(pod);
  }

  /** The pod as the API server has it when it is bound (same uid); undefined otherwise or on error. */
  private async boundPod(pod: Pod): Promise<Pod | undefined> {
    try {
      const live = await this.client.pods.get(pod.metadata?.namespace, pod.metadata!.name!);
      return live.metadata?.uid === pod.metadata?.uid && live.spec?.nodeName ? live : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * upstream handleSchedulingFailure: FailedScheduling event, requeue (unless the pod is gone or
   * already bound), and PodScheduled=False with the reason and message on the pod's status.
   */
  private handleFailure(fwk: Framework, q: QueuedPodInfo, reason: 'Unschedulable' | 'SchedulerError', message: string, cycle: number, isError: boolean, nominatedNodeName?: string): void {
    if (isError) this.stats.errors++;
    else this.stats.unschedulable++;
    const pod = q.podInfo.pod;
    const live = this.livePending(pod);
    if (!live) {
      // Deleted, or bound by someone else meanwhile: nothing to retry.
      this.queue.done(pod);
      return;
    }
    if (live !== pod) q.podInfo = podInfo(live);
    // PostFilter nominated a node (preemption), or cleared a stale nomination with "".
    if (nominatedNodeName) this.queue.addNominated(q.podInfo, nominatedNodeName);
    else if (nominatedNodeName === '') this.queue.deleteNominated(pod);
    this.queue.addUnschedulableIfNotPresent(q, cycle, { error: isError });
    this.recorders.get(fwk.schedulerName)?.event(live, 'Warning', 'FailedScheduling', 'Scheduling', message);
    void this.updatePodScheduledCondition(live, reason, message, nominatedNodeName).catch((e) => {
      if (!isNotFound(e) && !isConflict(e)) this.log(`scheduler: updating status of ${nsName(live)}: ${(e as Error).message}`);
    });
  }

  private async updatePodScheduledCondition(pod: Pod, reason: string, message: string, nominatedNodeName?: string): Promise<void> {
    const conds: any[] = pod.status?.conditions ?? [];
    const cur = conds.find((c) => c.type === 'PodScheduled');
    const nominationChanged = nominatedNodeName !== undefined && nominatedNodeName !== (pod.status?.nominatedNodeName ?? '');
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message && !nominationChanged) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null,
      lastTransitionTime: cur && cur.status === 'False' ? cur.lastTransitionTime : now,
      reason,
      message,
    };
    const status: Record<string, unknown> = { conditions: [condition] };
    if (nominationChanged) status.nominatedNodeName = nominatedNodeName || null;
    await this.client.pods.patch(pod.metadata?.namespace, pod.metadata!.name!, { status }, 'strategic', { subresource: 'status' });
  }

  /** Average synchronous scheduling-cycle time per attempt, in ms. */
  averageCycleMs(): number {
    return this.stats.attempts ? this.stats.cycleMsTotal / this.stats.attempts : 0;
  }
}

/** Which kind of node update happened (upstream nodeSchedulingPropertiesChange); undefined: nothing that affects scheduling. */
export function nodeUpdateAction(a: KObject, b: KObject): ClusterEventAction | undefined {
  const j = (x: unknown) => JSON.stringify(x ?? null);
  if (a.spec?.unschedulable !== b.spec?.unschedulable) return 'UpdateNodeTaint';
  if (j(a.metadata?.labels) !== j(b.metadata?.labels)) return 'UpdateNodeLabel';
  if (j(a.spec?.taints) !== j(b.spec?.taints)) return 'UpdateNodeTaint';
  if (j(a.status?.allocatable) !== j(b.status?.allocatable)) return 'UpdateNodeAllocatable';
  if (j(a.status?.images) !== j(b.status?.images)) return 'Update';
  if (j(a.status?.conditions?.map((c: any) => [c.type, c.status])) !== j(b.status?.conditions?.map((c: any) => [c.type, c.status]))) return 'Update';
  return undefined;
}

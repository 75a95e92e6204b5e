// The node lifecycle controller (upstream pkg/controller/nodelifecycle): watches node Leases
// and status heartbeats; a node heard from by neither within the grace period gets its Ready
// (and pressure) conditions set to Unknown and its pods marked not ready. Nodes whose Ready
// condition is False/Unknown get the not-ready/unreachable NoExecute taint (rate-limited per
// zone, see zones.ts) for the taint-eviction controller to act on, and every node carries the
// NoSchedule taints its conditions call for (TaintNodesByCondition).
import type { KObject } from '../../api/types.js';
import {
  GVR,
  WorkQueue,
  clientLog,
  isConflict,
  isNotFound,
  rfc3339,
  sleep,
  type EventRecorder,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { ensurePodNodeIndex, markPodsNotReady } from './pods.js';
import { NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE, conditionTaintDiff, hasTaint, nodeCondition, swapNodeTaints } from './taints.js';
import { ZoneTaintQueue, computeZoneState, zoneOf, type ZoneState } from './zones.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLifecycleOptions {
  /** How often node health is checked (upstream --node-monitor-period, 5 s; default here min(5 s, grace/4)). */
  nodeMonitorPeriodMs?: number;
  /** Grace for nodes that never posted status (upstream --node-startup-grace-period, 60 s). */
  nodeStartupGracePeriodMs?: number;
  /** Nodes tainted NoExecute per second per healthy zone (--node-eviction-rate 0.1); Infinity: no limit. */
  nodeEvictionRate?: number;
  /** The rate in partially disrupted zones of large clusters (--secondary-node-eviction-rate 0.01). */
  secondaryNodeEvictionRate?: number;
  /** Clusters up to this size stop tainting in partially disrupted zones (--large-cluster-size-threshold 50). */
  largeClusterSizeThreshold?: number;
  /** Share of not-ready nodes that makes a zone partially disrupted (--unhealthy-zone-threshold 0.55). */
  unhealthyZoneThreshold?: number;
}

interface NodeHealth {
  /** Local time we last heard from the node (status heartbeat or lease renewal). */
  probeMs: number;
  readyTransitionMs: number;
  heartbeat?: string;
  transition?: string;
  leaseRenew?: string;
}

/** Conditions set to Unknown when the kubelet goes silent. */
const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const TAINTING_PASS_MS = 100;

function nodeRef(node: KObject) {
  return { apiVersion: 'v1', kind: 'Node', name: node.metadata!.name!, uid: node.metadata!.name! };
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly conditionQueue = new WorkQueue<string>();
  private readonly health = new Map<string, NodeHealth>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly zoneQueues = new Map<string, ZoneTaintQueue>();
  /** Nodes whose pods still need marking not ready. */
  private readonly podsToMark = new Set<string>();
  private nodes!: SharedInformer;
  private leases!: SharedInformer;
  private pods!: SharedInformer;
  private nodeClient!: ResourceClient;
  private podClient!: ResourceClient;
  private recorder!: EventRecorder;
  private gracePeriodMs = 40_000;
  private monitorPeriodMs = 5_000;
  private readonly startupGraceMs: number;
  private readonly evictionRate: number;
  private readonly secondaryRate: number;
  private readonly largeCluster: number;
  private readonly unhealthyThreshold: number;

  constructor(private readonly opts: NodeLifecycleOptions = {}) {
    this.startupGraceMs = opts.nodeStartupGracePeriodMs ?? 60_000;
    this.evictionRate = opts.nodeEvictionRate ?? 0.1;
    this.secondaryRate = opts.secondaryNodeEvictionRate ?? 0.01;
    this.largeCluster = opts.largeClusterSizeThreshold ?? 50;
    this.unhealthyThreshold = opts.unhealthyZoneThreshold ?? 0.55;
  }

  async run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.gracePeriodMs = ctx.options.nodeMonitorGracePeriodMs;
    this.monitorPeriodMs = this.opts.nodeMonitorPeriodMs ?? Math.min(5_000, Math.max(50, Math.floor(this.gracePeriodMs / 4)));
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.leases = ctx.informers.informer(GVR.leases, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informer(GVR.pods);
    ensurePodNodeIndex(this.pods);
    this.nodeClient = ctx.client.resource(GVR.nodes);
    this.podClient = ctx.client.pods;
    this.recorder = ctx.recorder('node-controller');
    this.nodes.addEventHandler({
      onAdd: (n, initial) => {
        if (!initial) this.recorder.event(nodeRef(n), 'Normal', 'RegisteredNode', 'Register', `Node ${n.metadata!.name} event: Registered Node ${n.metadata!.name} in Controller`);
        this.conditionQueue.add(n.metadata!.name!);
      },
      onUpdate: (old, n) => {
        if (old === n) return;
        if (
          old.spec?.unschedulable !== n.spec?.unschedulable ||
          JSON.stringify(old.spec?.taints ?? []) !== JSON.stringify(n.spec?.taints ?? []) ||
          JSON.stringify((old.status?.conditions ?? []).map((c: any) => [c.type, c.status])) !==
            JSON.stringify((n.status?.conditions ?? []).map((c: any) => [c.type, c.status]))
        ) {
          this.conditionQueue.add(n.metadata!.name!);
        }
      },
      onDelete: (n) => {
        const name = n.metadata!.name!;
        this.recorder.event(nodeRef(n), 'Normal', 'RemovingNode', 'Remove', `Node ${name} event: Removing Node ${name} from Controller`);
        this.health.delete(name);
        this.podsToMark.delete(name);
        for (const q of this.zoneQueues.values()) q.remove(name);
      },
    });

    const workers = runQueueWorkers(this.name, ctx, ready, this.conditionQueue, (name) => this.syncConditionTaints(name));
    await ready;
    if (ctx.signal.aborted) return workers;
    const tainting = setInterval(() => void this.noExecuteTaintingPass(), TAINTING_PASS_MS);
    try {
      while (!ctx.signal.aborted) {
        try {
          await this.monitorNodeHealth();
        } catch (e) {
          clientLog('warning', `node-lifecycle: monitoring node health: ${(e as Error)?.message ?? e}`);
        }
        await sleep(this.monitorPeriodMs, ctx.signal).catch(() => undefined);
      }
    } finally {
      clearInterval(tainting);
    }
    await workers;
  }

  /** TaintNodesByCondition: keep the NoSchedule condition taints in line with the node. */
  private async syncConditionTaints(name: string): Promise<void> {
    const node = this.nodes.get(null, name);
    if (!node) return;
    const { add, remove } = conditionTaintDiff(node);
    if (!add.length && !remove.length) return;
    await swapNodeTaints(this.nodeClient, node, name, add, remove);
  }

  /** One pass over every node: health, pods, NoExecute taints, then zone disruption states. */
  async monitorNodeHealth(): Promise<void> {
    const zoneReady = new Map<string, Array<string | undefined>>();
    for (const node of this.nodes.list()) {
      const name = node.metadata!.name!;
      let observed: string | undefined;
      let current: string | undefined;
      try {
        ({ observed, current } = await this.tryUpdateNodeHealth(node));
      } catch (e) {
        clientLog('warning', `node-lifecycle: updating health of node ${name}: ${(e as Error)?.message ?? e}`);
        continue;
      }
      const zone = zoneOf(node);
      this.ensureZone(zone);
      let list = zoneReady.get(zone);
      if (!list) zoneReady.set(zone, (list = []));
      list.push(current);

      if (current !== 'True' && observed === 'True') {
        this.recorder.event(nodeRef(node), 'Normal', 'NodeNotReady', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        this.podsToMark.add(name);
      }
      if (this.podsToMark.has(name)) {
        if (current === 'True') this.podsToMark.delete(name);
        else if (await markPodsNotReady(this.podClient, this.pods, name, this.recorder)) this.podsToMark.delete(name);
      }
      if (current !== undefined) await this.processTaintBasedEviction(name, current);
    }
    await this.handleDisruption(zoneReady);
  }

  /**
   * Updates what we know of the node's heartbeats and, past the grace period, sets its
   * conditions to Unknown. Returns the Ready status before (observed) and after (current).
   */
  private async tryUpdateNodeHealth(cached: KObject): Promise<{ observed?: string; current?: string }> {
    let node = cached;
    for (let attempt = 0; ; attempt++) {
      const name = node.metadata!.name!;
      const now = Date.now();
      const ready = nodeCondition(node, 'Ready');
      const grace = ready ? this.gracePeriodMs : this.startupGraceMs;
      let h = this.health.get(name);
      if (!h) {
        const created = Date.parse(node.metadata?.creationTimestamp ?? '');
        h = { probeMs: !ready && !isNaN(created) ? created : now, readyTransitionMs: now, heartbeat: ready?.lastHeartbeatTime, transition: ready?.lastTransitionTime };
        this.health.set(name, h);
      } else if (ready && ready.lastHeartbeatTime !== h.heartbeat) {
        h.probeMs = now;
        if (ready.lastTransitionTime !== h.transition) h.readyTransitionMs = now;
        h.heartbeat = ready.lastHeartbeatTime;
        h.transition = ready.lastTransitionTime;
      }
      const renew = this.leases.get(NODE_LEASE_NAMESPACE, name)?.spec?.renewTime;
      if (renew && renew !== h.leaseRenew) {
        h.leaseRenew = renew;
        h.probeMs = now;
      }
      const observed = ready?.status;
      if (now <= h.probeMs + grace) return { observed, current: observed };

      const stamp = rfc3339(new Date(now));
      const conditions: any[] = [...(node.status?.conditions ?? [])];
      let changed = false;
      for (const type of MONITORED_CONDITIONS) {
        const i = conditions.findIndex((c) => c.type === type);
        if (i < 0) {
          conditions.push({
            type,
            status: 'Unknown',
            reason: 'NodeStatusNeverUpdated',
            message: 'Kubelet never posted node status.',
            lastHeartbeatTime: node.metadata?.creationTimestamp,
            lastTransitionTime: stamp,
          });
          changed = true;
        } else if (conditions[i].status !== 'Unknown') {
          conditions[i] = { ...conditions[i], status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp };
          changed = true;
        }
      }
      if (!changed) return { observed, current: 'Unknown' };
      try {
        await this.nodeClient.updateStatus(null, { ...node, status: { ...node.status, conditions } });
        h.readyTransitionMs = now;
        return { observed, current: 'Unknown' };
      } catch (e) {
        if (isNotFound(e)) return { observed };
        if (!isConflict(e) || attempt >= 4) throw e;
        node = await this.nodeClient.get(null, name);
      }
    }
  }

  private ensureZone(zone: string): ZoneTaintQueue {
    let q = this.zoneQueues.get(zone);
    if (!q) {
      this.zoneQueues.set(zone, (q = new ZoneTaintQueue(this.evictionRate)));
      this.zoneStates.set(zone, 'Initial');
    }
    return q;
  }

  /** Queues a not-ready/unreachable node for its NoExecute taint, swaps the two, or lifts them. */
  private async processTaintBasedEviction(name: string, readyStatus: string): Promise<void> {
    const node = this.nodes.get(null, name);
    if (!node) return;
    const q = this.ensureZone(zoneOf(node));
    if (readyStatus === 'True') {
      q.remove(name);
      if (hasTaint(node, NOT_READY_NO_EXECUTE) || hasTaint(node, UNREACHABLE_NO_EXECUTE)) {
        await swapNodeTaints(this.nodeClient, node, name, [], [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE]).catch((e) =>
          clientLog('warning', `node-lifecycle: removing NoExecute taints from ${name}: ${(e as Error).message}`),
        );
      }
      return;
    }
    const [want, other] = readyStatus === 'False' ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
    if (hasTaint(node, other)) {
      // Already being evicted for the other reason: swap at once, no new rate-limit token.
      await swapNodeTaints(this.nodeClient, node, name, [want], [other]).catch((e) =>
        clientLog('warning', `node-lifecycle: swapping NoExecute taints of ${name}: ${(e as Error).message}`),
      );
    } else if (!hasTaint(node, want)) {
      q.add(name);
    }
  }

  private tainting = false;

  /** Taints the queued nodes the zones' rate limiters let through. */
  private async noExecuteTaintingPass(): Promise<void> {
    if (this.tainting) return;
    this.tainting = true;
    try {
      for (const q of this.zoneQueues.values()) {
        if (!q.size) continue;
        for (const name of q.take()) {
          const node = this.nodes.get(null, name);
          const status = node ? nodeCondition(node, 'Ready')?.status ?? 'Unknown' : undefined;
          if (!node || status === 'True') continue;
          const [want, other] = status === 'False' ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
          try {
            await swapNodeTaints(this.nodeClient, node, name, [want], [other]);
          } catch (e) {
            clientLog('warning', `node-lifecycle: tainting node ${name}: ${(e as Error).message}`);
            q.add(name);
          }
        }
      }
    } finally {
      this.tainting = false;
    }
  }

  private rateFor(state: ZoneState, zoneSize: number): number {
    if (state === 'PartialDisruption') return zoneSize > this.largeCluster ? this.secondaryRate : 0;
    return this.evictionRate;
  }

  /** Zone states and the rates that follow from them; all zones down means stop evicting. */
  private async handleDisruption(zoneReady: Map<string, Array<string | undefined>>): Promise<void> {
    const next = new Map<string, ZoneState>();
    for (const [zone, statuses] of zoneReady) next.set(zone, computeZoneState(statuses, this.unhealthyThreshold));
    for (const zone of [...this.zoneStates.keys()]) {
      if (!next.has(zone)) {
        this.zoneStates.delete(zone);
        if (!this.zoneQueues.get(zone)?.size) this.zoneQueues.delete(zone);
      }
    }
    const allAre = [...next.values()].every((s) => s === 'FullDisruption');
    const allWas = [...this.zoneStates.values()].every((s) => s === 'FullDisruption');
    if (!allAre || !allWas) {
      if (allAre) {
        clientLog('warning', 'node-lifecycle: all nodes are not ready; stopping evictions (master disruption mode)');
        for (const node of this.nodes.list()) {
          if (hasTaint(node, NOT_READY_NO_EXECUTE) || hasTaint(node, UNREACHABLE_NO_EXECUTE)) {
            await swapNodeTaints(this.nodeClient, node, node.metadata!.name!, [], [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE]).catch(() => undefined);
          }
        }
        for (const zone of next.keys()) this.ensureZone(zone).setQPS(0);
        for (const [zone, s] of next) this.zoneStates.set(zone, s);
        return;
      }
      if (allWas && this.zoneStates.size > 0) {
        clientLog('info', 'node-lifecycle: some nodes are ready again; resuming evictions');
        // Give every node a fresh grace period: heartbeats may have been lost on our side.
        const now = Date.now();
        for (const h of this.health.values()) {
          h.probeMs = now;
          h.readyTransitionMs = now;
        }
        for (const [zone, s] of next) {
          this.ensureZone(zone).setQPS(this.rateFor(s, zoneReady.get(zone)!.length));
          this.zoneStates.set(zone, s);
        }
        return;
      }
    }
    for (const [zone, s] of next) {
      if (this.zoneStates.get(zone) !== s) this.ensureZone(zone).setQPS(this.rateFor(s, zoneReady.get(zone)!.length));
      this.zoneStates.set(zone, s);
    }
  }
}

// Hollow nodes: simulated kubelets for scale tests (like kubernetes-sigs/kwok). Registers N Nodes,
// keeps their Leases and statuses fresh, and moves pods bound to them through their lifecycle,
// all from one process with no per-node timers, informers or connections.
import type { Client, SharedInformerFactory } from '../client/index.js';
import { newStats, type HollowContext, type HollowLogger, type HollowStats } from './context.js';
import { Heartbeats } from './heartbeat.js';
import { NodeProfile, type NodeTemplate, type Taint } from './node-template.js';
import { NodeTable } from './node-table.js';
import { watchNodes } from './node-watch.js';
import { PodLifecycle } from './pod-lifecycle.js';
import { registerNodes } from './registration.js';
import { WriteLimiter } from './write-limiter.js';
import { heartbeatClient } from './heartbeat-client.js';

export { NodeProfile, loadNodeTemplate, parseLabels, parseTaints, KUBELET_VERSION, CONTAINER_RUNTIME_VERSION } from './node-template.js';
export type { NodeTemplate, Taint } from './node-template.js';
export type { HollowStats, HollowLogger } from './context.js';
export { NODE_LEASE_NAMESPACE } from './heartbeat.js';
export { nodeIP } from './addresses.js';

export interface HollowNodesOptions {
  /** Writes go through this client: its qps/burst token bucket bounds the write rate. */
  client: Client;
  count: number;
  /** Node names are <namePrefix><index> (default "hollow-node-"). */
  namePrefix?: string;
  /** Capacity and allocatable (defaults 32 CPUs, 256Gi, 110 pods, 1Ti ephemeral storage). */
  cpu?: string;
  memory?: string;
  pods?: string | number;
  ephemeralStorage?: string;
  /** Extra labels, on top of the standard ones and the template's. */
  labels?: Record<string, string>;
  /** Taints (replace the template's). */
  taints?: Taint[];
  /** Zones zone-0..zone-(zones-1), by index (default 3). */
  zones?: number;
  /** Labels, annotations, taints, capacity, allocatable and nodeInfo shared by all nodes. */
  template?: NodeTemplate;
  /** How long Job pods and restartPolicy Never/OnFailure pods run before Succeeded (default 1000). */
  podCompleteAfterMs?: number;
  /** Lease renewal period (default 10 s). */
  heartbeatIntervalMs?: number;
  /** Node status (Ready lastHeartbeatTime) refresh period (default 60 s). */
  statusReportIntervalMs?: number;
  /** Lease spec.leaseDurationSeconds (default 40). */
  leaseDurationSeconds?: number;
  /** Node and lease writes in flight at once (default 32). */
  maxInFlight?: number;
  /** Pod status workers (default 8). */
  podWorkers?: number;
  /** Share the pod informer with other components in the process. */
  informers?: SharedInformerFactory;
  /** Diagnostics (default: warnings and errors to stderr). */
  log?: HollowLogger;
}

export interface HollowNodes {
  /** Stops every loop and waits for writes in flight; no request starts after it resolves. */
  stop(): Promise<void>;
  nodeNames: string[];
  /** Live counters of the writes made so far. */
  readonly stats: HollowStats;
  /** Milliseconds the registration of all nodes took. */
  readonly registrationMs: number;
}

const defaultLog: HollowLogger = (level, message) => {
  if (level !== 'info') process.stderr.write(`hollow-nodes ${level}: ${message}\n`);
};

/** Registers the nodes and starts their heartbeats and pod lifecycle; resolves once all are registered and the pod cache has synced. */
export async function startHollowNodes(opts: HollowNodesOptions): Promise<HollowNodes> {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new Error(`count must be a non-negative integer, got ${opts.count}`);
  const profile = new NodeProfile({
    namePrefix: opts.namePrefix,
    cpu: opts.cpu,
    memory: opts.memory,
    pods: opts.pods,
    ephemeralStorage: opts.ephemeralStorage,
    labels: opts.labels,
    taints: opts.taints,
    zones: opts.zones,
    template: opts.template,
  });
  const names = Array.from({ length: opts.count }, (_, i) => profile.nodeName(i));
  const table = new NodeTable(names);
  const maxInFlight = opts.maxInFlight ?? 32;
  const limiter = new WriteLimiter(maxInFlight);
  let stopped = false;
  const hbClient = heartbeatClient(opts.client, maxInFlight);
  const ctx: HollowContext = {
    client: opts.client,
    heartbeatClient: hbClient,
    table,
    profile,
    limiter,
    stats: newStats(),
    log: opts.log ?? defaultLog,
    get stopped() {
      return stopped;
    },
    nodeRecovered: (i) => pods.nodeRecovered(i),
  };
  const heartbeats = new Heartbeats(ctx, {
    leaseIntervalMs: opts.heartbeatIntervalMs,
    statusIntervalMs: opts.statusReportIntervalMs,
    leaseDurationSeconds: opts.leaseDurationSeconds,
  });
  const pods = new PodLifecycle(ctx, { completeAfterMs: opts.podCompleteAfterMs, workers: opts.podWorkers, informers: opts.informers });
  const nodeWatch = watchNodes(ctx, { onNotReady: (i) => heartbeats.reportNow(i) });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      heartbeats.stop();
      nodeWatch.stop();
      await pods.stop();
      await limiter.close();
      hbClient.close();
    })());

  const t0 = performance.now();
  try {
    await registerNodes(ctx);
  } catch (e) {
    await stop();
    throw e;
  }
  const registrationMs = performance.now() - t0;
  heartbeats.start();
  await pods.start();
  return { stop, nodeNames: names, stats: ctx.stats, registrationMs };
}

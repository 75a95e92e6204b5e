// What every controller gets from the controller manager, and what it exports.
// One controller per folder (src/controllers/<name>/), in the informer + work queue + sync
// pattern: level-triggered, idempotent, each sync reads the informer caches and writes through
// the API server.
import type { Client, EventRecorder, SharedInformerFactory } from '../client/index.js';

export interface ControllerOptions {
  /** Concurrent workers per controller (upstream --concurrent-*-syncs). */
  workers: number;
  /** Node lifecycle: how long a node may go without a Lease renewal before NotReady/Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** Cluster CIDR for node IPAM, e.g. 10.42.0.0/16, and the per-node mask size. */
  clusterCIDR: string;
  nodeCIDRMaskSize: number;
  /** Terminated pods kept before pod GC deletes the oldest (upstream --terminated-pod-gc-threshold). */
  terminatedPodGCThreshold: number;
  /** Base directory of volumes the skiff.io/host-path provisioner creates (a class's parameters.basePath wins). */
  storageDir: string;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  workers: 5,
  nodeMonitorGracePeriodMs: 40_000,
  clusterCIDR: '10.42.0.0/16',
  nodeCIDRMaskSize: 24,
  terminatedPodGCThreshold: 12_500,
  storageDir: '/var/lib/skiff/storage',
};

export interface ControllerContext {
  client: Client;
  /** Shared informers: controllers ask for what they need before the manager starts them. */
  informers: SharedInformerFactory;
  /** An event recorder reporting as the named controller (events.k8s.io/v1). */
  recorder(controllerName: string): EventRecorder;
  /** Aborted when the manager stops or loses leadership. */
  signal: AbortSignal;
  options: ControllerOptions;
}

export interface Controller {
  /** Upstream's controller name, e.g. "deployment", "replicaset", "garbage-collector". */
  readonly name: string;
  /**
   * Registers informers and handlers, then (after the manager has synced the informers)
   * runs workers until ctx.signal aborts. Resolves when stopped.
   */
  run(ctx: ControllerContext, ready: Promise<void>): Promise<void>;
}

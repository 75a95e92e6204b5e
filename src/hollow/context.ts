// What the parts of a hollow-nodes run share: the client, the node table and profile, the write
// limiter, counters, and the stop flag every writer checks before issuing a request.
import type { Client } from '../client/index.js';
import type { NodeProfile } from './node-template.js';
import type { NodeTable } from './node-table.js';
import type { WriteLimiter } from './write-limiter.js';

/** Counters of the API writes a run has made (for benchmarks and the CLI's periodic report). */
export interface HollowStats {
  nodesCreated: number;
  nodesAdopted: number;
  leaseRenewals: number;
  leaseCreates: number;
  nodeStatusUpdates: number;
  podsRunning: number;
  podsSucceeded: number;
  podsDeleted: number;
  conflicts: number;
  errors: number;
  /** Lease renewals skipped because the previous one for the node had not finished. */
  heartbeatsSkipped: number;
  /** Nodes put back to Ready after the node lifecycle controller had marked them Unknown. */
  nodesRecovered: number;
  /** Running pods whose Ready condition was put back (after MarkPodsNotReady, or readiness gates now met). */
  podsReadyRestored: number;
}

export function newStats(): HollowStats {
  return {
    nodesCreated: 0,
    nodesAdopted: 0,
    leaseRenewals: 0,
    leaseCreates: 0,
    nodeStatusUpdates: 0,
    podsRunning: 0,
    podsSucceeded: 0,
    podsDeleted: 0,
    conflicts: 0,
    errors: 0,
    heartbeatsSkipped: 0,
    nodesRecovered: 0,
    podsReadyRestored: 0,
  };
}

export type HollowLogger = (level: 'info' | 'warning' | 'error', message: string) => void;

export interface HollowContext {
  client: Client;
  /** Leases and node status: a connection pool of their own (heartbeat-client.ts). */
  heartbeatClient: Client;
  table: NodeTable;
  profile: NodeProfile;
  limiter: WriteLimiter;
  stats: HollowStats;
  log: HollowLogger;
  /** True once stop() began: no new request may start. */
  readonly stopped: boolean;
  /** Called once node i's status write put it back to Ready after it had been seen not Ready. */
  nodeRecovered: (i: number) => void;
}

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
  };
}

export type HollowLogger = (level: 'info' | 'warning' | 'error', message: string) => void;

export interface HollowContext {
  client: Client;
  table: NodeTable;
  profile: NodeProfile;
  limiter: WriteLimiter;
  stats: HollowStats;
  log: HollowLogger;
  /** True once stop() began: no new request may start. */
  readonly stopped: boolean;
}

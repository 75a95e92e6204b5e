// Heartbeats of every hollow node from one ticker. Each kind of heartbeat walks a ring of node
// indexes at N/period nodes per second, so with 5,000 nodes and a 10 s lease interval 500
// renewals a second go out evenly instead of 5,000 at once:
//   - the Lease (kube-node-lease/<node>) every heartbeat interval, as the kubelet's node lease
//     controller (PUT with the last resourceVersion; create it when missing);
//   - the node status (Ready's lastHeartbeatTime) every status report interval, as the kubelet's
//     nodeStatusReportFrequency.
// A node whose previous write has not finished (the API is slower than the ring) is not queued
// twice: its renewal follows as soon as the write in flight ends (a kubelet renews one interval
// after its last renewal ended; waiting for the ring's next turn instead would stretch the gap
// between renewals towards twice the interval plus the write's latency, and under load past the
// node monitor grace period). Lease and status writes go through their own connection pool.
// Besides the ring, reportNow() writes a node's status at once when the node watch shows the node
// lifecycle controller marked it Unknown, as the kubelet does when its node status differs from
// what it would report (its nodeStatusUpdateFrequency check) rather than a minute later.
import { isAlreadyExists, isConflict, isNotFound, microTime, type KObject } from '../client/index.js';
import type { HollowContext } from './context.js';
import { LEASE_AGAIN, LEASE_BUSY, STATUS_AGAIN, STATUS_BUSY } from './node-table.js';
import { writeNodeStatus } from './registration.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface HeartbeatOptions {
  /** Lease renewal period (default 10 s). */
  leaseIntervalMs?: number;
  /** Node status refresh period (default 60 s). */
  statusIntervalMs?: number;
  /** spec.leaseDurationSeconds (default 40, the kubelet's). */
  leaseDurationSeconds?: number;
  /** How often the ring advances (default 100 ms, shorter when the interval is short). */
  tickMs?: number;
}

/** A ring walked at size/period indexes per millisecond from a start time. */
class Ring {
  private cursor = 0;
  private dispatched = 0;

  constructor(
    private readonly size: number,
    private readonly periodMs: number,
    private readonly startMs: number,
  ) {}

  /** The indexes due by now (at most one full turn, even after a long stall). */
  due(now: number, visit: (i: number) => void): void {
    const target = Math.floor(((now - this.startMs) * this.size) / this.periodMs) + 1;
    let n = target - this.dispatched;
    if (n > this.size) {
      this.dispatched = target - this.size;
      n = this.size;
    }
    for (; n > 0; n--) {
      visit(this.cursor);
      this.cursor = this.cursor + 1 === this.size ? 0 : this.cursor + 1;
      this.dispatched++;
    }
  }
}

export class Heartbeats {
  private timer?: NodeJS.Timeout;
  private readonly leaseMs: number;
  private readonly statusMs: number;
  private readonly leaseDuration: number;
  private readonly tickMs: number;

  constructor(
    private readonly ctx: HollowContext,
    opts: HeartbeatOptions = {},
  ) {
    this.leaseMs = opts.leaseIntervalMs ?? 10_000;
    this.statusMs = opts.statusIntervalMs ?? 60_000;
    this.leaseDuration = opts.leaseDurationSeconds ?? 40;
    this.tickMs = opts.tickMs ?? Math.max(5, Math.min(100, this.leaseMs / 10));
  }

  start(): void {
    if (this.timer || this.ctx.table.size === 0) return;
    const n = this.ctx.table.size;
    const t0 = performance.now();
    const leases = new Ring(n, this.leaseMs, t0);
    // Status was just written at registration: the first refresh of node i is one period later
    // (i/n of a period in, so they stay spread).
    const status = new Ring(n, this.statusMs, t0 + this.statusMs);
    const tick = () => {
      if (this.ctx.stopped) return;
      const now = performance.now();
      leases.due(now, (i) => this.renew(i));
      if (now >= t0 + this.statusMs) status.due(now, (i) => this.refreshStatus(i));
    };
    tick();
    this.timer = setInterval(tick, this.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private renew(i: number): void {
    const { table, stats } = this.ctx;
    if (table.busy[i] & LEASE_BUSY) {
      stats.heartbeatsSkipped++;
      table.busy[i] |= LEASE_AGAIN;
      return;
    }
    table.busy[i] |= LEASE_BUSY;
    this.ctx.limiter
      .run(() => this.writeLease(i))
      .catch((e) => {
        if (this.ctx.stopped) return;
        stats.errors++;
        this.ctx.log('warning', `lease ${table.names[i]}: ${(e as Error).message}`);
      })
      .finally(() => {
        const again = table.busy[i] & LEASE_AGAIN;
        table.busy[i] &= ~(LEASE_BUSY | LEASE_AGAIN);
        if (again && !this.ctx.stopped) this.renew(i);
      });
  }

  /** Writes node i's status now; with a write in flight, once more right after it. */
  reportNow(i: number): void {
    const { table } = this.ctx;
    if (this.ctx.stopped) return;
    if (table.busy[i] & STATUS_BUSY) table.busy[i] |= STATUS_AGAIN;
    else this.refreshStatus(i);
  }

  private refreshStatus(i: number): void {
    const { table, stats } = this.ctx;
    if (table.busy[i] & STATUS_BUSY) return;
    table.busy[i] |= STATUS_BUSY;
    this.ctx.limiter
      .run(() => writeNodeStatus(this.ctx, i))
      .catch((e) => {
        if (this.ctx.stopped) return;
        stats.errors++;
        this.ctx.log('warning', `node status ${table.names[i]}: ${(e as Error).message}`);
      })
      .finally(() => {
        const again = table.busy[i] & STATUS_AGAIN;
        table.busy[i] &= ~(STATUS_BUSY | STATUS_AGAIN);
        if (again && !this.ctx.stopped) this.refreshStatus(i);
      });
  }

  /** Renews (or creates) the node's Lease; one retry after a conflict, with the current version. */
  private async writeLease(i: number): Promise<void> {
    const { table, heartbeatClient, stats } = this.ctx;
    const leases = heartbeatClient.leases;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.ctx.stopped) return;
      const rv = table.leaseRv[i];
      const body = this.leaseBody(i, rv);
      try {
        const res = rv ? await leases.update(NODE_LEASE_NAMESPACE, body) : await leases.create(NODE_LEASE_NAMESPACE, body);
        table.leaseRv[i] = res.metadata?.resourceVersion;
        if (rv) stats.leaseRenewals++;
        else stats.leaseCreates++;
        return;
      } catch (e) {
        if (isNotFound(e)) {
          table.leaseRv[i] = undefined; // deleted: create it
        } else if (isConflict(e) || isAlreadyExists(e)) {
          stats.conflicts++;
          const cur = await leases.get(NODE_LEASE_NAMESPACE, table.names[i]).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
          table.leaseRv[i] = cur?.metadata?.resourceVersion;
        } else throw e;
      }
    }
  }

  private leaseBody(i: number, rv: string | undefined): KObject {
    const { table } = this.ctx;
    const name = table.names[i];
    const uid = table.uids[i];
    const metadata: KObject['metadata'] = { name, namespace: NODE_LEASE_NAMESPACE };
    if (rv) metadata.resourceVersion = rv;
    // Like the kubelet: the Node owns its Lease, so deleting the node collects the lease.
    if (uid) metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid }];
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata,
      spec: { holderIdentity: name, leaseDurationSeconds: this.leaseDuration, renewTime: microTime() },
    };
  }
}

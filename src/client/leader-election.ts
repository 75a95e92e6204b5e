// Leader election on a coordination.k8s.io/v1 Lease, like client-go's leaderelection with a
// LeaseLock. Candidates poll the Lease every retryPeriod; a Lease is free when it has no holder
// or when its holder has not renewed for leaseDuration, measured on the local clock from when
// this candidate last saw the record change (so clock skew between hosts does not matter).
// Writes use the Lease's resourceVersion, so two candidates can never both win a round.
import { setMaxListeners } from 'node:events';
import type { KObject } from '../api/types.js';
import type { Client } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { clientLog } from './log.js';
import type { ResourceClient } from './resources.js';
import { jitter, microTime, sleep } from './time.js';

export interface LeaderCallbacks {
  /** Leadership gained; signal aborts when it is lost or the elector stops. Not awaited. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership lost or given up (only called after onStartedLeading). */
  onStoppedLeading?(): void;
  /** The observed leader changed (including to this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: Client;
  /** Lease name, e.g. "kube-scheduler". */
  name: string;
  /** Default "kube-system". */
  namespace?: string;
  /** This candidate's identity (upstream: hostname + "_" + a UUID). */
  identity: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long gives up (default 10 s; must be < leaseDuration). */
  renewDeadlineMs?: number;
  /** Interval between attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Clear the holder when run()'s signal aborts, so another candidate takes over at once (default true). */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export class LeaderElector {
  private readonly leases: ResourceClient;
  private readonly ns: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** The Lease as this candidate last wrote it (valid while leading). */
  private ownLease?: KObject;
  private observedRv = '';
  private observedSpec: LeaseSpec = {};
  /** performance.now() when the observed record last changed. */
  private observedTime = 0;
  private reportedLeader = '';
  private leading = false;

  constructor(private readonly cfg: LeaderElectionConfig) {
    this.leases = cfg.client.leases;
    this.ns = cfg.namespace ?? 'kube-system';
    this.leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('leader election: renewDeadline must be less than leaseDuration');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this candidate last observed ("" when none). */
  getLeader(): string {
    return this.observedSpec.holderIdentity ?? '';
  }

  /**
   * Campaigns until leadership is won, leads until it is lost, then resolves. Also resolves
   * when signal aborts (releasing the Lease if leading and releaseOnCancel is set).
   */
  async run(signal?: AbortSignal): Promise<void> {
    const leadership = new AbortController();
    setMaxListeners(0, leadership.signal); // every controller of a manager listens on it
    let led = false;
    try {
      if (!(await this.acquire(signal))) return;
      led = true;
      const started = this.cfg.callbacks.onStartedLeading(leadership.signal);
      if (started && typeof (started as Promise<void>).catch === 'function')
        (started as Promise<void>).catch((e) => clientLog('error', `leader election ${this.ns}/${this.cfg.name}: onStartedLeading failed: ${e?.stack ?? e}`));
      await this.renewLoop(signal);
    } finally {
      leadership.abort();
      if (led && signal?.aborted && (this.cfg.releaseOnCancel ?? true)) await this.release();
      this.leading = false;
      if (led) this.cfg.callbacks.onStoppedLeading?.();
    }
  }

  /** Gives up the Lease now (holder cleared) if this candidate holds it. */
  async release(): Promise<boolean> {
    if (!this.leading || !this.ownLease) return false;
    const now = microTime();
    const spec: LeaseSpec = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: this.observedSpec.leaseTransitions ?? 0,
    };
    try {
      const updated = await this.withTimeout(this.leases.update(this.ns, { ...this.ownLease, spec: { ...this.ownLease.spec, ...spec } }));
      this.observe(updated);
      this.leading = false;
      this.ownLease = undefined;
      return true;
    } catch (e) {
      clientLog('warning', `leader election ${this.ns}/${this.cfg.name}: release failed: ${(e as Error).message}`);
      return false;
    }
  }

  private async acquire(signal?: AbortSignal): Promise<boolean> {
    while (!signal?.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        clientLog('info', `leader election: ${this.cfg.identity} acquired lease ${this.ns}/${this.cfg.name}`);
        return true;
      }
      await sleep(jitter(this.retryPeriodMs, 0.2), signal);
    }
    return false;
  }

  private async renewLoop(signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal?.aborted) return;
      const deadline = performance.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!signal?.aborted) {
        renewed = await this.tryAcquireOrRenew();
        if (renewed || performance.now() + this.retryPeriodMs >= deadline) break;
        await sleep(this.retryPeriodMs, signal);
      }
      if (!renewed && !signal?.aborted) {
        clientLog('warning', `leader election: ${this.cfg.identity} failed to renew lease ${this.ns}/${this.cfg.name}; giving up leadership`);
        return;
      }
    }
  }

  /** One round: create, take over, or renew the Lease. True when this candidate holds it afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const nowDate = new Date();
    const now = microTime(nowDate);
    const durationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    let lease = this.leading ? this.ownLease : undefined;
    try {
      if (!lease) lease = await this.withTimeout(this.leases.get(this.ns, this.cfg.name));
    } catch (e) {
      if (!isNotFound(e)) {
        clientLog('warning', `leader election ${this.ns}/${this.cfg.name}: ${(e as Error).message}`);
        return false;
      }
      const spec: LeaseSpec = { holderIdentity: this.cfg.identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      try {
        const created = await this.withTimeout(this.leases.create(this.ns, { metadata: { name: this.cfg.name, namespace: this.ns }, spec }));
        this.ownLease = created;
        this.observe(created);
        return true;
      } catch (err) {
        if (!isAlreadyExists(err)) clientLog('warning', `leader election ${this.ns}/${this.cfg.name}: create failed: ${(err as Error).message}`);
        return false;
      }
    }
    this.observe(lease!);
    const old: LeaseSpec = lease!.spec ?? {};
    const holder = old.holderIdentity ?? '';
    const held = holder !== '' && holder !== this.cfg.identity;
    const durationMs = (old.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (held && this.observedTime + durationMs > performance.now()) return false;

    const mine = holder === this.cfg.identity && this.leading;
    const spec: LeaseSpec = {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine ? (old.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: mine || holder === this.cfg.identity ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1,
    };
    try {
      const updated = await this.withTimeout(this.leases.update(this.ns, { ...lease!, spec: { ...old, ...spec } }));
      this.ownLease = updated;
      this.observe(updated);
      return true;
    } catch (e) {
      this.ownLease = undefined;
      if (!isConflict(e)) clientLog('warning', `leader election ${this.ns}/${this.cfg.name}: update failed: ${(e as Error).message}`);
      return false;
    }
  }

  /** Records the Lease as seen now if it changed since last seen, and reports leader changes. */
  private observe(lease: KObject): void {
    const rv = lease.metadata?.resourceVersion ?? '';
    if (rv !== this.observedRv) {
      this.observedRv = rv;
      this.observedSpec = lease.spec ?? {};
      this.observedTime = performance.now();
    }
    const holder = this.observedSpec.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.cfg.callbacks.onNewLeader?.(holder);
      } catch (e) {
        clientLog('error', `leader election: onNewLeader threw: ${(e as Error)?.stack ?? e}`);
      }
    }
  }

  /** Bounds one API call by the renew deadline, so a hung request cannot outlive leadership. */
  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`request timed out after ${this.renewDeadlineMs} ms`)), this.renewDeadlineMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

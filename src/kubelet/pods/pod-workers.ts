// One serialized worker per pod (upstream's pod_workers.go): updates, runtime events, probe
// results and timers all "kick" the worker; a kick while it syncs runs it once more afterwards.
// A worker syncs its pod until the pod is deleted (deletionTimestamp, or gone from its source),
// then kills it (preStop, grace period), reports the final status, deletes the API object with
// grace 0 and removes every runtime object, volume and log. Pods that finished (Succeeded,
// Failed) have their sandbox stopped and stay as they are until deleted.
import { isNotFound, type Client, type KObject } from '../../client/index.js';
import type { KubeletLog } from '../log.js';
import type { ProbeManager } from '../prober/manager.js';
import { podFullName } from './labels.js';
import { generatePodStatus } from './pod-status.js';
import type { PodSync, RuntimePodState } from './pod-sync.js';
import type { StatusManager, StatusTarget } from './status-manager.js';

export interface PodWorkersOptions {
  client: Client;
  sync: PodSync;
  status: StatusManager;
  probes: ProbeManager;
  log: KubeletLog;
  hostIP(): string | undefined;
  /** Periodic resync of a running pod (volume refresh, status), default 30 s. */
  resyncMs?: number;
  /** Where the pod's status goes: the pod itself, or the mirror pod of a static pod (undefined: nowhere yet). */
  statusTarget(pod: KObject): StatusTarget | undefined;
  /** Called after a pod's runtime objects were removed (volumes, tokens). */
  cleanup(uid: string): Promise<void>;
  /** Static pods are not deleted from the API by the kubelet (their mirror pod is handled by the static source). */
  isStatic(pod: KObject): boolean;
  /** Why the pod cannot be synced yet (e.g. the pod network is not ready); undefined when it can. */
  waitReason?(pod: KObject): string | undefined;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

/** What, in a pod update, makes the worker sync again (our own status writes do not). */
function fingerprint(pod: KObject): string {
  const md = pod.metadata ?? {};
  const gates = (pod.spec?.readinessGates ?? []).map((g: KObject) => (pod.status?.conditions ?? []).find((c: KObject) => c.type === g.conditionType)?.status ?? '');
  return JSON.stringify([md.deletionTimestamp, md.deletionGracePeriodSeconds, md.labels, md.annotations, pod.spec, gates]);
}

class PodWorker {
  pod: KObject;
  gone = false;
  removed = false;
  finished = false;
  waitLogged = false;
  private fp: string;
  private running?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  lastState?: RuntimePodState;

  constructor(
    private readonly owner: PodWorkers,
    pod: KObject,
  ) {
    this.pod = pod;
    this.fp = fingerprint(pod);
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  update(pod: KObject): void {
    this.pod = pod;
    const fp = fingerprint(pod);
    if (fp === this.fp) return;
    this.fp = fp;
    this.kick();
  }

  kick(): void {
    if (this.removed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.loop();
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  stop(): void {
    this.removed = true;
    clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    let next = this.owner.resyncMs;
    let failures = 0;
    do {
      this.again = false;
      try {
        next = await this.owner.step(this);
        failures = 0;
      } catch (e) {
        failures++;
        this.owner.o.log('warning', `error syncing pod ${podFullName(this.pod)}: ${(e as Error).message}`);
        next = Math.min(1000 * 2 ** Math.min(failures, 5), this.owner.resyncMs);
      }
    } while (this.again && !this.removed && !this.owner.stopped);
    this.running = undefined;
    if (!this.removed && !this.owner.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.kick(), next);
    }
  }
}

export class PodWorkers {
  private readonly workers = new Map<string, PodWorker>();
  readonly resyncMs: number;
  stopped = false;

  constructor(readonly o: PodWorkersOptions) {
    this.resyncMs = o.resyncMs ?? 30_000;
  }

  /** A pod from a source (added or updated). */
  update(pod: KObject): void {
    if (this.stopped) return;
    const uid: string = pod.metadata?.uid ?? '';
    if (!uid) return;
    const w = this.workers.get(uid);
    if (w) return w.update(pod);
    const nw = new PodWorker(this, pod);
    this.workers.set(uid, nw);
    nw.kick();
  }

  /** The pod is gone from its source (deleted without our help, or the static file removed). */
  remove(uid: string): void {
    const w = this.workers.get(uid);
    if (!w) return;
    w.gone = true;
    w.kick();
  }

  /** Something changed for the pod (runtime event, probe result): sync it. */
  kick(uid: string): void {
    this.workers.get(uid)?.kick();
  }

  has(uid: string): boolean {
    return this.workers.has(uid);
  }

  uids(): string[] {
    return [...this.workers.keys()];
  }

  pod(uid: string): KObject | undefined {
    return this.workers.get(uid)?.pod;
  }

  /** Stops all workers (pods keep running; a restarted kubelet adopts them). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) w.stop();
    await Promise.all([...this.workers.values()].map((w) => w.idle()));
  }

  /** One pass of a worker; returns when to sync next (ms). */
  async step(w: PodWorker): Promise<number> {
    const { sync, status } = this.o;
    const pod = w.pod;
    const uid = w.uid;
    if (w.gone || pod.metadata?.deletionTimestamp) {
      await this.terminate(w);
      return this.resyncMs;
    }
    if (w.finished) return this.resyncMs;
    const wait = this.o.waitReason?.(pod);
    if (wait) {
      if (!w.waitLogged) this.o.log('info', `pod ${podFullName(pod)} waits: ${wait}`);
      w.waitLogged = true;
      return 1000;
    }
    const out = await sync.sync(pod);
    w.lastState = out.state;
    const inputs = {
      pod,
      sandbox: out.state.sandboxes[0],
      containers: out.state.containers,
      waiting: out.waiting,
      readiness: (id: string) => this.o.probes.readiness(id),
      startup: (id: string) => this.o.probes.startup(id),
      terminationMessage: (c: Parameters<PodSync['terminationMessage']>[1]) => sync.terminationMessage(pod, c),
      hostIP: this.o.hostIP(),
    };
    let st = generatePodStatus({ ...inputs, terminal: out.terminal });
    if (TERMINAL.has(st.phase) || out.terminal) {
      // Finished for good: stop what is left (the sandbox, sidecars) and report the final state.
      const grace = pod.spec?.terminationGracePeriodSeconds ?? 30;
      const after = await sync.killPod(pod, grace);
      w.lastState = after;
      st = generatePodStatus({ ...inputs, sandbox: after.sandboxes[0], containers: after.containers, terminal: true });
      w.finished = true;
    }
    const target = this.o.statusTarget(pod);
    if (target) await status.set(target, st);
    return out.requeueMs !== undefined ? Math.min(out.requeueMs, this.resyncMs) : this.resyncMs;
  }

  private async terminate(w: PodWorker): Promise<void> {
    const { sync, status, client } = this.o;
    const pod = w.pod;
    const uid = w.uid;
    const grace = w.gone ? 2 : (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    const after = await sync.killPod(pod, grace);
    // The final status is computed now (termination messages are still on disk) but written
    // after everything is reclaimed, so "deleted" means nothing is left (and a server that
    // drops a terminating pod on its status write does no harm).
    const final = w.gone
      ? undefined
      : generatePodStatus({
          pod,
          sandbox: after.sandboxes[0],
          containers: after.containers,
          waiting: new Map(),
          readiness: () => false,
          startup: () => false,
          terminationMessage: (c) => sync.terminationMessage(pod, c),
          hostIP: this.o.hostIP(),
          terminal: true,
        });
    await sync.removePod(uid, pod);
    await this.o.cleanup(uid);
    const target = final && this.o.statusTarget(pod);
    if (final && target) await status.set(target, final).catch(() => undefined);
    if (!w.gone && !this.o.isStatic(pod)) {
      try {
        await client.pods.delete(pod.metadata?.namespace, pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (e) {
        if (!isNotFound(e) && !/Precondition failed/.test((e as Error).message)) throw e;
      }
    }
    status.forget(uid);
    w.stop();
    this.workers.delete(uid);
    this.o.log('info', `pod ${podFullName(pod)} terminated and removed`);
  }
}

// Probe workers (upstream's prober manager/worker): one per running container and probe kind,
// ticking every periodSeconds after initialDelaySeconds. Results flip only after
// successThreshold/failureThreshold consecutive outcomes; a flip pokes the pod's worker.
// Readiness starts false, liveness true, startup false; while a startup probe has not
// succeeded, liveness and readiness do not run.
import type { EventRecorder, KObject } from '../../client/index.js';
import type { KubeletRuntime } from '../runtime/types.js';
import { runAction } from './actions.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

const FIELD: Record<ProbeKind, string> = { liveness: 'livenessProbe', readiness: 'readinessProbe', startup: 'startupProbe' };
const TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface RunningContainer {
  id: string;
  spec: KObject;
  /** Epoch ms when the container started. */
  startedAtMs: number;
}

interface Worker {
  kind: ProbeKind;
  podUid: string;
  containerId: string;
  spec: KObject;
  probe: KObject;
  timer?: NodeJS.Timeout;
  result: boolean;
  successes: number;
  failures: number;
  stopped: boolean;
  running: boolean;
}

export interface ProbeManagerOptions {
  runtime: KubeletRuntime;
  recorder?: EventRecorder;
  /** Called when a result changes (the pod should sync and report). */
  onChange(podUid: string): void;
}

export class ProbeManager {
  /** "<containerId>/<kind>" -> worker. */
  private readonly workers = new Map<string, Worker>();
  private readonly pods = new Map<string, { pod: KObject; podIP?: string }>();

  constructor(private readonly o: ProbeManagerOptions) {}

  /** Brings the workers of pod in line with its running containers. */
  update(pod: KObject, podIP: string | undefined, running: RunningContainer[]): void {
    const uid: string = pod.metadata?.uid ?? '';
    this.pods.set(uid, { pod, podIP });
    const want = new Set<string>();
    for (const c of running) {
      for (const kind of ['startup', 'liveness', 'readiness'] as ProbeKind[]) {
        const probe = c.spec[FIELD[kind]];
        if (!probe) continue;
        const key = `${c.id}/${kind}`;
        want.add(key);
        if (this.workers.has(key)) continue;
        const w: Worker = {
          kind,
          podUid: uid,
          containerId: c.id,
          spec: c.spec,
          probe,
          result: kind === 'liveness',
          successes: 0,
          failures: 0,
          stopped: false,
          running: false,
        };
        this.workers.set(key, w);
        const delay = Math.max(0, c.startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());
        w.timer = setTimeout(() => this.tick(w), delay);
      }
    }
    for (const [key, w] of this.workers) {
      if (w.podUid === uid && !want.has(key)) this.stopWorker(key, w);
    }
  }

  removePod(uid: string): void {
    this.pods.delete(uid);
    for (const [key, w] of this.workers) if (w.podUid === uid) this.stopWorker(key, w);
  }

  /** undefined: no readiness probe result yet. */
  readiness(containerId: string): boolean | undefined {
    const w = this.workers.get(`${containerId}/readiness`);
    return w ? w.result : undefined;
  }

  startup(containerId: string): boolean | undefined {
    const w = this.workers.get(`${containerId}/startup`);
    return w ? w.result : undefined;
  }

  /** The probe kind whose failure means the container must be restarted, if any. */
  failedToLive(containerId: string): ProbeKind | undefined {
    const s = this.workers.get(`${containerId}/startup`);
    if (s && !s.result && s.failures >= (s.probe.failureThreshold ?? 3)) return 'startup';
    const l = this.workers.get(`${containerId}/liveness`);
    if (l && !l.result) return 'liveness';
    return undefined;
  }

  stop(): void {
    for (const [key, w] of this.workers) this.stopWorker(key, w);
  }

  private stopWorker(key: string, w: Worker): void {
    w.stopped = true;
    clearTimeout(w.timer);
    this.workers.delete(key);
  }

  private async tick(w: Worker): Promise<void> {
    if (w.stopped) return;
    const period = (w.probe.periodSeconds ?? 10) * 1000;
    const schedule = () => {
      if (!w.stopped) w.timer = setTimeout(() => this.tick(w), period);
    };
    // Liveness and readiness wait for the startup probe.
    if (w.kind !== 'startup') {
      const s = this.workers.get(`${w.containerId}/startup`);
      if (s && !s.result) return schedule();
    } else if (w.result) return; // startup succeeded: this worker is done
    const entry = this.pods.get(w.podUid);
    if (!entry) return;
    w.running = true;
    const res = await runAction({ runtime: this.o.runtime, containerId: w.containerId, container: w.spec, podIP: entry.podIP }, w.probe, w.probe.timeoutSeconds ?? 1).catch(
      (e) => ({ ok: false, output: (e as Error).message }),
    );
    w.running = false;
    if (w.stopped) return;
    const before = w.result;
    if (res.ok) {
      w.failures = 0;
      w.successes++;
      const need = w.kind === 'readiness' ? w.probe.successThreshold ?? 1 : 1;
      if (w.successes >= need) w.result = true;
    } else {
      w.successes = 0;
      w.failures++;
      this.o.recorder?.event(
        { ...objectRef(entry.pod), fieldPath: `spec.containers{${w.spec.name}}` },
        'Warning',
        'Unhealthy',
        'Probe',
        `${TITLE[w.kind]} probe failed: ${res.output.trim()}`,
      );
      if (w.failures >= (w.probe.failureThreshold ?? 3)) w.result = false;
    }
    if (before !== w.result || (w.kind === 'startup' && !w.result && w.failures >= (w.probe.failureThreshold ?? 3))) this.o.onChange(w.podUid);
    if (w.kind === 'liveness' && !w.result) return; // the container is restarted: a new worker follows
    schedule();
  }
}

export function objectRef(pod: KObject): { apiVersion: string; kind: string; namespace?: string; name?: string; uid?: string } {
  return { apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
}

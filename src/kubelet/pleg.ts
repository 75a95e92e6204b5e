// The pod lifecycle event generator (upstream's generic PLEG): relists the runtime's
// containers and sandboxes every second and reports the pods whose runtime state changed
// (a container started, exited, vanished), so their workers sync without polling each pod.
import type { KubeletRuntime } from './runtime/types.js';
import { POD_UID_LABEL } from './pods/labels.js';
import type { KubeletLog } from './log.js';

export interface PlegOptions {
  runtime: KubeletRuntime;
  log: KubeletLog;
  intervalMs?: number;
  /** Pods (uids) whose runtime state changed. */
  onChange(uids: string[]): void;
}

export class Pleg {
  private timer?: NodeJS.Timeout;
  private prev = new Map<string, string>();
  private busy = false;
  private stopped = false;
  /** Uids with any runtime object at the last relist. */
  runtimeUids = new Set<string>();

  constructor(private readonly o: PlegOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.relist(), this.o.intervalMs ?? 1000);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async relist(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const [containers, sandboxes] = await Promise.all([this.o.runtime.listContainers(), this.o.runtime.listPodSandboxes()]);
      const next = new Map<string, string[]>();
      const add = (uid: string | undefined, s: string) => {
        if (!uid) return;
        let l = next.get(uid);
        if (!l) next.set(uid, (l = []));
        l.push(s);
      };
      for (const c of containers) add(c.labels?.[POD_UID_LABEL], `c:${c.id}:${c.state}`);
      for (const s of sandboxes) add(s.labels?.[POD_UID_LABEL], `s:${s.id}:${s.state}`);
      const now = new Map<string, string>();
      for (const [uid, l] of next) now.set(uid, l.sort().join(','));
      const changed: string[] = [];
      for (const [uid, sig] of now) if (this.prev.get(uid) !== sig) changed.push(uid);
      for (const uid of this.prev.keys()) if (!now.has(uid)) changed.push(uid);
      this.prev = now;
      this.runtimeUids = new Set(now.keys());
      if (changed.length) this.o.onChange(changed);
    } catch (e) {
      this.o.log('warning', `PLEG relist failed: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }
}

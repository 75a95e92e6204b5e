// Per-key exponential backoff like client-go's flowcontrol.Backoff, used for crash loops
// (CrashLoopBackOff) and image pulls (ImagePullBackOff): the first failure may retry at once,
// each further failure within the window doubles the wait from base up to max, and an entry
// idle for twice max is forgotten (so a container that ran 10 minutes starts over at base).
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  now?: () => number;
}

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(o: BackoffOptions = {}) {
    this.baseMs = o.baseMs ?? 10_000;
    this.maxMs = o.maxMs ?? 300_000;
    this.now = o.now ?? Date.now;
  }

  private expired(e: Entry, eventTime: number): boolean {
    return eventTime - e.lastUpdate > this.maxMs * 2;
  }

  /** Records a (re)start attempt for a failure at eventTime: the next wait doubles (or resets). */
  next(key: string, eventTime: number = this.now()): void {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventTime)) {
      this.entries.set(key, { backoffMs: this.baseMs, lastUpdate: eventTime });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = eventTime;
  }

  /** True while now is within the current wait counted from eventTime (the failure). */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    const now = this.now();
    if (this.expired(e, now)) return false;
    return now - eventTime < e.backoffMs;
  }

  /** The current wait for key (0 when none). */
  get(key: string): number {
    const e = this.entries.get(key);
    return e && !this.expired(e, this.now()) ? e.backoffMs : 0;
  }

  /** Milliseconds left of the wait counted from eventTime (0 when not backing off). */
  remaining(key: string, eventTime: number): number {
    if (!this.isInBackOffSince(key, eventTime)) return 0;
    return Math.max(0, eventTime + this.entries.get(key)!.backoffMs - this.now());
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every key with this prefix (a pod's containers when the pod goes). */
  resetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Forgets idle entries. */
  gc(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (this.expired(e, now)) this.entries.delete(k);
  }
}

/** "10s", "1m20s", "5m0s" as Go prints durations in the CrashLoopBackOff message. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}

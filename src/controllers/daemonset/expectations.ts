// Creations and deletions a DaemonSet sync is waiting to observe, both at once (upstream
// SetExpectations(add, del) with UID-tracked deletions): one sync may create pods on some nodes
// and delete pods on others, and must not act again until the informer has seen all of them.
import { EXPECTATIONS_TIMEOUT_MS } from '../common/expectations.js';

interface Pending {
  add: number;
  deleting: Set<string>;
  at: number;
}

export class DaemonExpectations {
  private readonly records = new Map<string, Pending>();

  constructor(private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS) {}

  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r || (r.add <= 0 && r.deleting.size === 0)) return true;
    return performance.now() - r.at > this.timeoutMs;
  }

  /** Replaces the owner's expectations: `add` creations and the deletion of the given pod keys. */
  set(key: string, add: number, deleting: string[]): void {
    this.records.set(key, { add, deleting: new Set(deleting), at: performance.now() });
  }

  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.add--;
  }

  /** Creations that will not happen after all (a failed slow-start batch). */
  lowerCreations(key: string, n: number): void {
    const r = this.records.get(key);
    if (r) r.add -= n;
  }

  deletionObserved(key: string, podKey: string): void {
    this.records.get(key)?.deleting.delete(podKey);
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}

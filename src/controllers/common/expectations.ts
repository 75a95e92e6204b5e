// Controller expectations (upstream controller_utils.go): after a sync issues creates/deletes,
// the controller must not act on that owner again until its informer has observed them, or it
// would count stale caches and create or delete twice. Deletions are tracked per pod key, so a
// deletion observed for a pod we did not delete does not satisfy an expectation.

/** Expectations older than this are considered satisfied (a lost watch event must not wedge an owner). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Record_ {
  add: number;
  del: number;
  /** Keys of the pods whose deletion is expected. */
  deleting: Set<string>;
  at: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Record_>();

  constructor(private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS) {}

  /** True when the owner may be synced: no record, all observed, or the record expired. */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return performance.now() - r.at > this.timeoutMs;
  }

  expectCreations(key: string, n: number): void {
    this.records.set(key, { add: n, del: 0, deleting: new Set(), at: performance.now() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.records.set(key, { add: 0, del: podKeys.length, deleting: new Set(podKeys), at: performance.now() });
  }

  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.add--;
  }

  /** A deletion of podKey was observed (or the delete call failed); only expected pods count. */
  deletionObserved(key: string, podKey: string): void {
    const r = this.records.get(key);
    if (r && r.deleting.delete(podKey)) r.del--;
  }

  /** Forgets the owner (it was deleted). */
  delete(key: string): void {
    this.records.delete(key);
  }

  /** Pending counts, for tests and diagnostics. */
  pending(key: string): { add: number; del: number } | undefined {
    const r = this.records.get(key);
    return r && { add: r.add, del: r.del };
  }
}

// Periodic compaction, as the Kubernetes API server does for etcd: every interval, compact
// to the revision seen one interval ago, but always keep at least the last keepRevisions.
// Watchers that fall further behind than that get Compacted (HTTP 410) and re-list.
import type { Store } from './store.js';

export interface CompactorOptions {
  /** Default 5 minutes. */
  intervalMs?: number;
  /** History always kept, in revisions. Default 1000. */
  keepRevisions?: number;
  onError?: (err: Error) => void;
}

export interface Compactor {
  stop(): void;
  /** Runs one round now (tests); resolves with the revision compacted to, or 0. */
  runOnce(): Promise<number>;
}

export function startCompactor(store: Store, opts: CompactorOptions = {}): Compactor {
  const intervalMs = opts.intervalMs ?? 5 * 60_000;
  const keep = opts.keepRevisions ?? 1000;
  let seenLastRound = 0;
  let compactedTo = 0;
  let running = false;

  const runOnce = async (): Promise<number> => {
    if (running) return 0;
    running = true;
    try {
      const current = await store.currentRevision();
      const target = Math.min(seenLastRound, current - keep);
      seenLastRound = current;
      if (target <= compactedTo) return 0;
      await store.compact(target);
      compactedTo = target;
      return target;
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => {
    runOnce().catch((err: Error) => (opts.onError ? opts.onError(err) : console.error('compaction failed:', err.message)));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}

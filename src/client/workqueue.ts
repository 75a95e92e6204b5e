// A work queue with client-go's guarantees: a key queued several times is processed once
// (dedupe); a key is never handed to two workers at once (re-added while processing, it is
// processed again after done()); delayed adds; rate-limited retries; and runWorkers, the
// usual controller loop around it.
import { clientLog } from './log.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.js';

export class WorkQueue<K = string> {
  private items: K[] = [];
  private head = 0;
  /** Keys that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<K>();
  /** Keys handed out by get() and not yet done(). */
  private readonly processing = new Set<K>();
  private waiters: Array<(item: K | undefined) => void> = [];
  private shuttingDown = false;
  private readonly waitingTimers = new Map<K, { at: number; timer: NodeJS.Timeout }>();

  constructor(private readonly rateLimiter: RateLimiter<K> = defaultControllerRateLimiter<K>()) {}

  /** Queues item unless it is already queued; if it is being processed it is queued again on done(). */
  add(item: K): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(item);
      this.processing.add(item);
      waiter(item);
    } else this.items.push(item);
  }

  /** Adds item after ms; a pending delayed add keeps the earlier of the two times. */
  addAfter(item: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(item);
    const at = performance.now() + ms;
    const pending = this.waitingTimers.get(item);
    if (pending) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.waitingTimers.delete(item);
      this.add(item);
    }, ms);
    this.waitingTimers.set(item, { at, timer });
  }

  /** Adds item after its rate-limited delay (per-item backoff combined with the overall bucket). */
  addRateLimited(item: K): void {
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Resets item's backoff (call after it was processed successfully). */
  forget(item: K): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.rateLimiter.numRequeues(item);
  }

  /**
   * The next item, waiting if none is queued; undefined once the queue is shut down and empty.
   * The caller must call done(item) when finished with it.
   */
  get(): Promise<K | undefined> {
    const item = this.tryGet();
    if (item !== undefined || this.shuttingDown) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next item if one is queued, without waiting. */
  tryGet(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as K;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(item);
    this.processing.add(item);
    return item;
  }

  /** Marks item processed; if it was added meanwhile, it is queued again. */
  done(item: K): void {
    this.processing.delete(item);
    if (!this.dirty.has(item)) return;
    // Re-added while processing: queue it now (add() skipped the queue then).
    this.dirty.delete(item);
    this.add(item);
  }

  /** Queued items (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.items.length - this.head;
  }

  /** Stops accepting items; pending gets resolve undefined once the queue is drained. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waitingTimers.values()) clearTimeout(timer);
    this.waitingTimers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

export interface RunWorkersOptions<K> {
  /** Called when sync fails (default: log a warning); the item is requeued with rate limiting. */
  onError?(item: K, err: unknown, requeues: number): void;
  /** Give up on an item (forget, no requeue) after this many consecutive failures (default: never). */
  maxRetries?: number;
}

/**
 * Runs n workers that take items from the queue and sync them: success forgets the item's
 * backoff, failure requeues it rate-limited. Resolves when the queue is shut down and drained
 * and every worker has finished.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  n: number,
  sync: (item: K) => Promise<void>,
  opts: RunWorkersOptions<K> = {},
): Promise<void> {
  const worker = async () => {
    for (;;) {
      const item = await queue.get();
      if (item === undefined) return;
      try {
        await sync(item);
        queue.forget(item);
      } catch (err) {
        const requeues = queue.numRequeues(item);
        if (opts.onError) opts.onError(item, err, requeues);
        else clientLog('warning', `sync ${String(item)} failed (retry ${requeues + 1}): ${(err as Error)?.message ?? err}`);
        if (opts.maxRetries !== undefined && requeues >= opts.maxRetries) queue.forget(item);
        else queue.addRateLimited(item);
      } finally {
        queue.done(item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
}

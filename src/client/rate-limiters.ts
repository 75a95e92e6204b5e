// Per-item retry delays for the work queue, as client-go's workqueue rate limiters: exponential
// backoff per key, an overall token bucket, and the max of several.
import { TokenBucket } from './token-bucket.js';

export interface RateLimiter<K> {
  /** How long to wait before the item is retried (also records the failure). */
  when(item: K): number;
  /** Clears the item's failure history (on success). */
  forget(item: K): void;
  /** How many times the item has failed since it was last forgotten. */
  numRequeues(item: K): number;
}

/** baseMs * 2^failures, capped at maxMs. */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1000_000,
  ) {}

  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity long before it matters; min() handles it.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/** An overall token bucket: bursts beyond `burst` are spread at `qps`. */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private readonly bucket: TokenBucket;

  constructor(qps = 10, burst = 100, now?: () => number) {
    this.bucket = new TokenBucket(qps, burst, now);
  }

  when(): number {
    return this.bucket.reserve();
  }

  forget(): void {}

  numRequeues(): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(item: K): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: K): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: K): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** Upstream's DefaultControllerRateLimiter: per-item 5 ms doubling to 1000 s, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter<K>(): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ItemExponentialRateLimiter<K>(5, 1000_000), new BucketRateLimiter<K>(10, 100));
}

// A token bucket (qps refill, burst capacity) shared by the REST client's request throttle
// and the work queue's overall rate limiter. Like Go's rate.Limiter.Reserve, a caller that
// finds the bucket empty reserves a future token and learns how long to wait, so waiters are
// served in order without a queue of their own.

export class TokenBucket {
  private tokens: number;
  private last: number;

  /** qps <= 0 means unlimited. */
  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; returns the milliseconds to wait before using it (0: go now). */
  reserve(): number {
    if (this.qps <= 0) return 0;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.qps) / 1000);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  /** Resolves once a token is available. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

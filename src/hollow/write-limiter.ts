// Bounds how many API writes are in flight at once (the client's token bucket separately bounds
// their rate), and lets stop() wait for the writes already started while dropping queued ones.

export class WriteLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly maxInFlight: number) {}

  /** Runs fn when a slot is free; resolves undefined without running it once closed. */
  async run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.closed) return undefined;
    if (this.active >= this.maxInFlight) {
      await new Promise<void>((r) => this.waiting.push(r));
      if (this.closed) {
        this.release();
        return undefined;
      }
    } else this.active++;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves once no caller waits for a slot (at once when none does), or after maxWaitMs.
   * Lower-priority writers that do not go through the limiter call it to give way.
   */
  whenNoneQueued(maxWaitMs: number): Promise<void> {
    if (this.waiting.length === 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        const i = self.drainWaiters.indexOf(done);
        if (i >= 0) self.drainWaiters.splice(i, 1);
        resolve();
      }
      this.drainWaiters.push(done);
    });
  }

  /** Refuses new work, releases queued callers without running them, resolves once nothing is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const d of [...this.drainWaiters]) d();
    // Each woken waiter sees `closed` and releases its slot in turn.
    if (this.active === 0 && this.waiting.length === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) {
      next(); // the slot passes to the next waiter: active stays the same
      if (this.waiting.length === 0 && this.drainWaiters.length) for (const d of [...this.drainWaiters]) d();
      return;
    }
    this.active--;
    if (this.active === 0 && this.idleWaiters.length) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

// Latency histograms for the scheduler (upstream: scheduler_scheduling_attempt_duration_seconds
// and scheduler_scheduling_algorithm_duration_seconds). Geometric buckets (10% apart, 20 µs to
// about 5 min) keep percentiles within 10% at a fixed, small cost per observation. Counts are
// cumulative; a reader takes two snapshots and subtracts them to get one interval's percentiles.

const FIRST_BOUND_MS = 0.02;
const FACTOR = 1.1;
const BUCKETS = 175;

/** Upper bound (ms) of bucket i. */
export function bucketBoundMs(i: number): number {
  return FIRST_BOUND_MS * FACTOR ** i;
}

export class LatencyHistogram {
  /** counts[i]: observations ≤ bucketBoundMs(i) and > the previous bound; the last bucket takes the rest. */
  readonly counts = new Array<number>(BUCKETS).fill(0);
  total = 0;
  sumMs = 0;

  observe(ms: number): void {
    let i = ms <= FIRST_BOUND_MS ? 0 : Math.ceil(Math.log(ms / FIRST_BOUND_MS) / Math.log(FACTOR));
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]++;
    this.total++;
    this.sumMs += ms;
  }

  /** Compact form for logs: [[bucket, count], ...] for non-empty buckets. */
  toSparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) out.push([i, this.counts[i]]);
    return out;
  }
}

/** The p-th percentile (0..100) of bucket counts (dense array or sparse pairs), as the bucket's upper bound in ms. */
export function percentileMs(counts: number[] | Array<[number, number]>, p: number): number {
  const dense = new Array<number>(BUCKETS).fill(0);
  if (counts.length && Array.isArray(counts[0])) for (const [i, c] of counts as Array<[number, number]>) dense[i] += c;
  else (counts as number[]).forEach((c, i) => (dense[i] += c));
  const total = dense.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += dense[i];
    if (seen >= rank) return bucketBoundMs(i);
  }
  return bucketBoundMs(BUCKETS - 1);
}

/** a − b for sparse bucket lists (an interval between two cumulative snapshots). */
export function subtractSparse(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  const m = new Map(a);
  for (const [i, c] of b) m.set(i, (m.get(i) ?? 0) - c);
  return [...m].filter(([, c]) => c > 0);
}

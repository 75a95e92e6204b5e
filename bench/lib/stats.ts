// Latency bookkeeping and the one-line result format shared by the API server benchmarks.

/** The p-th percentile (0..100) of an ascending-sorted array (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

export function now(): number {
  return performance.now();
}

export interface Measured {
  ops: number;
  seconds: number;
  /** Ascending, milliseconds. */
  latencies: number[];
}

/**
 * Runs op(client, worker, i) opsPerClient times (or opsPerClient[worker] times) on every client
 * at once, each client strictly sequential like one goroutine per client, recording latencies.
 */
export async function runClients<C>(
  clients: C[],
  opsPerClient: number | number[],
  op: (client: C, worker: number, i: number) => Promise<unknown>,
): Promise<Measured> {
  const latencies: number[] = [];
  const start = now();
  await Promise.all(
    clients.map(async (c, w) => {
      const n = typeof opsPerClient === 'number' ? opsPerClient : opsPerClient[w];
      for (let i = 0; i < n; i++) {
        const t = now();
        await op(c, w, i);
        latencies.push(now() - t);
      }
    }),
  );
  const seconds = (now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length, seconds, latencies };
}

/** `apiserver sqlite create clients=16 ops=8000 throughput=1234ops/s p50=1.23ms p99=4.56ms` */
export function formatMeasured(label: string, clients: number, m: Measured): string {
  return (
    `${label} clients=${clients} ops=${m.ops} throughput=${Math.round(m.ops / m.seconds)}ops/s ` +
    `p50=${ms(percentile(m.latencies, 50))}ms p99=${ms(percentile(m.latencies, 99))}ms`
  );
}

/** Sorts in place and returns `p50=..ms p99=..ms max=..ms`. */
export function latencySummary(values: number[]): string {
  values.sort((a, b) => a - b);
  return `p50=${ms(percentile(values, 50))}ms p99=${ms(percentile(values, 99))}ms max=${ms(values[values.length - 1])}ms`;
}

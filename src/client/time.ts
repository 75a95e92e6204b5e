// Timestamp formats of the Kubernetes API.

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits ("2006-01-02T15:04:05.000000Z"). */
export function microTime(d: Date = new Date()): string {
  const iso = d.toISOString(); // 2006-01-02T15:04:05.000Z
  return `${iso.slice(0, 23)}000Z`;
}

/** metav1.Time: RFC 3339 in whole seconds. */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses a Time or MicroTime; NaN when absent or malformed. */
export function parseTime(s: string | undefined | null): number {
  return s ? Date.parse(s) : NaN;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** d scaled by a random factor in [1, 1 + maxFactor), like wait.Jitter. */
export const jitter = (d: number, maxFactor: number): number => d * (1 + Math.random() * maxFactor);

// How the metrics API spells its values: CPU and memory as canonical resource.Quantity
// strings (nanocores "DecimalSI", bytes "BinarySI"), timestamps as RFC 3339 seconds and
// windows as Go durations ("15.012s", "1m0s").

const DECIMAL_SUFFIXES: [number, string][] = [
  [18, 'E'],
  [15, 'P'],
  [12, 'T'],
  [9, 'G'],
  [6, 'M'],
  [3, 'k'],
  [0, ''],
  [-3, 'm'],
  [-6, 'u'],
  [-9, 'n'],
];

/** A CPU quantity from nanocores, canonical as resource.Quantity prints it ("250m", "1", "163219594n"). */
export function formatNanoCores(nanoCores: number): string {
  const n = BigInt(Math.max(0, Math.round(nanoCores)));
  if (n === 0n) return '0';
  for (const [exp, suffix] of DECIMAL_SUFFIXES) {
    const div = 10n ** BigInt(exp + 9);
    if (n % div === 0n) return `${n / div}${suffix}`;
  }
  return `${n}n`;
}

const BINARY_SUFFIXES: [bigint, string][] = [
  [1n << 60n, 'Ei'],
  [1n << 50n, 'Pi'],
  [1n << 40n, 'Ti'],
  [1n << 30n, 'Gi'],
  [1n << 20n, 'Mi'],
  [1n << 10n, 'Ki'],
];

/** A memory quantity from bytes, canonical BinarySI ("1848328Ki", "512Mi", "1000"). */
export function formatBytes(bytes: number): string {
  const n = BigInt(Math.max(0, Math.round(bytes)));
  if (n === 0n) return '0';
  for (const [div, suffix] of BINARY_SUFFIXES) if (n % div === 0n) return `${n / div}${suffix}`;
  return String(n);
}

/** metav1.Time: RFC 3339 with second precision. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** metav1.Duration: Go's time.Duration.String() for a non-negative number of milliseconds. */
export function goDuration(ms: number): string {
  ms = Math.max(0, Math.round(ms));
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const rest = ms % 60_000;
  const s = `${Math.floor(rest / 1000)}${rest % 1000 ? `.${String(rest % 1000).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
  if (h) return `${h}h${m}m${s}`;
  if (m) return `${m}m${s}`;
  return s;
}

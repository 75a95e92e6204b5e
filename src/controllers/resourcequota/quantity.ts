// Exact resource quantities for quota accounting: values kept as BigInt milli-units (so sums
// of "100m" CPUs or "1Gi" memories never drift) plus the binary/decimal format that decides how
// the total prints, as upstream's resource.Quantity canonical form ("500m", "2", "1Gi", "1500").
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Array<[number, string]> = [
  [18, 'E'], [15, 'P'], [12, 'T'], [9, 'G'], [6, 'M'], [3, 'k'], [0, ''], [-3, 'm'],
];
const BINARY_SUFFIX: Array<[number, string]> = [[6, 'Ei'], [5, 'Pi'], [4, 'Ti'], [3, 'Gi'], [2, 'Mi'], [1, 'Ki']];

export interface Quantity {
  /** Value × 1000, rounded up to a whole milli-unit (as upstream rounds quota usage). */
  milli: bigint;
  binary: boolean;
}

/** Resource name → quantity (upstream corev1.ResourceList). */
export type ResourceList = Map<string, Quantity>;

export const ZERO: Quantity = { milli: 0n, binary: false };

/** Parses a quantity string or JSON number; undefined when invalid. */
export function parseQuantity(v: unknown): Quantity | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    return { milli: BigInt(Math.ceil(v * 1000)), binary: false };
  }
  if (typeof v !== 'string') return undefined;
  const m = QUANTITY.exec(v.trim());
  if (!m) return undefined;
  const [, sign, num, suffix = ''] = m;
  const [intPart, fracPart = ''] = num.split('.');
  // digits × 10^-frac.length, scaled by the suffix, expressed in milli-units.
  let digits = BigInt((intPart || '0') + fracPart);
  let exp10 = 3 - fracPart.length; // milli
  let binary = false;
  if (suffix in BINARY) {
    binary = true;
    digits *= 1024n ** BigInt(BINARY[suffix]);
  } else if (suffix[0] === 'e' || suffix[0] === 'E') exp10 += Number(suffix.slice(1));
  else exp10 += DECIMAL[suffix];
  let milli: bigint;
  if (exp10 >= 0) milli = digits * 10n ** BigInt(exp10);
  else {
    const d = 10n ** BigInt(-exp10);
    milli = digits / d + (digits % d ? 1n : 0n); // round up
  }
  return { milli: sign === '-' ? -milli : milli, binary };
}

/** Upstream's canonical string: largest suffix with an integral mantissa. */
export function formatQuantity(q: Quantity): string {
  const v = q.milli;
  if (v === 0n) return '0';
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const sign = neg ? '-' : '';
  if (q.binary && abs >= 1024n * 1000n && abs % 1000n === 0n) {
    const units = abs / 1000n;
    for (const [e, s] of BINARY_SUFFIX) {
      const d = 1024n ** BigInt(e);
      if (units % d === 0n) return `${sign}${units / d}${s}`;
    }
    return `${sign}${units}`;
  }
  for (const [e, s] of DECIMAL_SUFFIX) {
    const d = 10n ** BigInt(e + 3);
    if (abs % d === 0n) return `${sign}${abs / d}${s}`;
  }
  return `${sign}${abs}m`;
}

export function quantityOf(n: number): Quantity {
  return { milli: BigInt(n) * 1000n, binary: false };
}

export function addQ(a: Quantity, b: Quantity): Quantity {
  // A zero receiver takes the other's format, as Quantity.Add does.
  return { milli: a.milli + b.milli, binary: a.milli === 0n ? b.binary : a.binary };
}

/** A ResourceList from an API map of strings (invalid values are skipped). */
export function toResourceList(m: Record<string, unknown> | undefined): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(m ?? {})) {
    const q = parseQuantity(v);
    if (q) out.set(k, q);
  }
  return out;
}

export function fromResourceList(l: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...l.keys()].sort()) out[k] = formatQuantity(l.get(k)!);
  return out;
}

/** a + b, key by key. */
export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map(a);
  for (const [k, v] of b) out.set(k, out.has(k) ? addQ(out.get(k)!, v) : v);
  return out;
}

/** Element-wise max (init containers against the sum of app containers). */
export function maxLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map(a);
  for (const [k, v] of b) {
    const cur = out.get(k);
    if (!cur || v.milli > cur.milli) out.set(k, v);
  }
  return out;
}

/** a - b, floored at zero per key (upstream SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of a) {
    const o = b.get(k);
    const milli = o ? v.milli - o.milli : v.milli;
    out.set(k, { milli: milli < 0n ? 0n : milli, binary: v.binary });
  }
  return out;
}

/** Only the given keys. */
export function mask(l: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = new Map();
  for (const n of names) {
    const v = l.get(n);
    if (v) out.set(n, v);
  }
  return out;
}

/** "a=1,b=2" sorted by key (upstream prettyPrint). */
export function prettyPrint(l: ResourceList): string {
  return [...l.keys()].sort().map((k) => `${k}=${formatQuantity(l.get(k)!)}`).join(',');
}

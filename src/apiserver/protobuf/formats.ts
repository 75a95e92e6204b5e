// JSON text forms of the apimachinery time types, as Go prints and parses them.
import { ProtobufError } from './wire.js';

/** metav1.Time: RFC3339 in UTC with whole seconds ("2006-01-02T15:04:05Z"). */
export function formatTime(seconds: number): string {
  return isoSeconds(seconds) + 'Z';
}

/** metav1.MicroTime: RFC3339 in UTC with 6 fractional digits ("2006-01-02T15:04:05.000000Z"). */
export function formatMicroTime(seconds: number, nanos: number): string {
  return isoSeconds(seconds) + '.' + String(Math.floor(nanos / 1000)).padStart(6, '0') + 'Z';
}

function isoSeconds(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new ProtobufError(`malformed protobuf: timestamp ${seconds} is out of range`);
  return d.toISOString().slice(0, -5); // drop ".mmmZ"
}

/** Parses an RFC3339 time into Unix seconds and nanoseconds. */
export function parseTime(text: string): { seconds: number; nanos: number } {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`invalid time "${text}"`);
  const frac = /\.(\d+)/.exec(text);
  const nanos = frac ? Number(frac[1].slice(0, 9).padEnd(9, '0')) : 0;
  return { seconds: Math.floor(ms / 1000), nanos };
}

const NS_PER_HOUR = 3_600_000_000_000;
const NS_PER_MINUTE = 60_000_000_000;

/** Go's time.Duration.String(): "1h2m3.5s", "1m0s", "1.5ms", "250µs", "10ns", "0s". */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let u = Math.abs(ns);
  if (u < 1000) return sign + u + 'ns';
  if (u < 1_000_000) return sign + decimal(u, 1000, 3) + 'µs';
  if (u < 1_000_000_000) return sign + decimal(u, 1_000_000, 6) + 'ms';
  const h = Math.floor(u / NS_PER_HOUR);
  u -= h * NS_PER_HOUR;
  const m = Math.floor(u / NS_PER_MINUTE);
  u -= m * NS_PER_MINUTE;
  return sign + (h > 0 ? h + 'h' : '') + (h > 0 || m > 0 ? m + 'm' : '') + decimal(u, 1_000_000_000, 9) + 's';
}

function decimal(v: number, unit: number, digits: number): string {
  const whole = Math.floor(v / unit);
  const frac = v - whole * unit;
  if (frac === 0) return String(whole);
  return whole + '.' + String(frac).padStart(digits, '0').replace(/0+$/, '');
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1, us: 1000, 'µs': 1000, 'μs': 1000, ms: 1_000_000, s: 1_000_000_000, m: NS_PER_MINUTE, h: NS_PER_HOUR,
};

/** Parses a Go duration string ("1h30m", "-1.5s") into nanoseconds. */
export function parseDuration(text: string): number {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!m) {
    if (text === '0' || text === '-0' || text === '+0') return 0;
    throw new Error(`invalid duration "${text}"`);
  }
  let total = 0;
  for (const part of text.slice(m[1].length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Math.round(Number(part[1]) * DURATION_UNITS[part[2]]);
  return m[1] === '-' ? -total : total;
}

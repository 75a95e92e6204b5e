// Standard 5-field cron schedules as CronJob accepts them (upstream uses robfig/cron's
// ParseStandard): "min hour dom month dow", names (jan-dec, sun-sat), ranges, lists, steps, "*"
// and "?", the @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly descriptors,
// "@every <duration>", and an optional "TZ=<zone>" / "CRON_TZ=<zone>" prefix.
// Error messages follow robfig/cron, since they reach users through spec.schedule validation.

export interface CronSchedule {
  /** Bit sets of the allowed values (bit n set: value n allowed). */
  minute: bigint;
  hour: bigint;
  dom: bigint;
  month: bigint;
  dow: bigint;
  /** True when dom or dow was "*" or "?" (robfig's starBit): decides how dom and dow combine. */
  domStar: boolean;
  dowStar: boolean;
  /** For "@every <duration>": the interval in milliseconds (fields above unused). */
  everyMs?: number;
  /** Zone from a TZ=/CRON_TZ= prefix, if any. */
  timeZone?: string;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTE: Bounds = { min: 0, max: 59 };
const HOUR: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTH: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

export class CronParseError extends Error {}

function bitRange(lo: number, hi: number, step: number): bigint {
  let b = 0n;
  for (let i = lo; i <= hi; i += step) b |= 1n << BigInt(i);
  return b;
}

function parseIntStrict(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new CronParseError(`failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return parseInt(s, 10);
}

function parseValue(s: string, b: Bounds): number {
  const named = b.names?.[s.toLowerCase()];
  if (named !== undefined) return named;
  const n = parseIntStrict(s);
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${s}`);
  return n;
}

/** One comma-separated part of a field, e.g. "1-5/2"; returns [bits, wasStar]. */
function parseRange(expr: string, b: Bounds): [bigint, boolean] {
  const [rangePart, stepPart, ...extraSlash] = expr.split('/');
  const lowHigh = rangePart.split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowHigh[0] === '*' || lowHigh[0] === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = parseValue(lowHigh[0], b);
    if (lowHigh.length === 1) end = start;
    else if (lowHigh.length === 2) end = parseValue(lowHigh[1], b);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (extraSlash.length > 0) throw new CronParseError(`too many slashes: ${expr}`);
  if (stepPart !== undefined) {
    step = parseIntStrict(stepPart);
    if (step < 0) throw new CronParseError(`negative number (${step}) not allowed: ${stepPart}`);
    // "N/step" means N through the maximum.
    if (lowHigh.length === 1 && !star) end = b.max;
    if (step > 1) star = false;
  }
  if (start < b.min) throw new CronParseError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronParseError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  return [bitRange(start, end, step), star];
}

function parseField(field: string, b: Bounds): [bigint, boolean] {
  let bits = 0n;
  let star = false;
  for (const part of field.split(',')) {
    const [r, s] = parseRange(part, b);
    bits |= r;
    star ||= s;
  }
  return [bits, star];
}

const ALL = (b: Bounds) => bitRange(b.min, b.max, 1);

/** Go time.ParseDuration subset: "1h30m", "90s", "1.5h", "500ms". */
function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  if (s === '0') return 0;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new CronParseError(`failed to parse duration @every ${s}: time: invalid duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (s.length === 0) throw new CronParseError(`failed to parse duration @every ${s}: time: invalid duration ""`);
  return total;
}

function descriptor(spec: string, timeZone: string | undefined): CronSchedule {
  const base = (minute: bigint, hour: bigint, dom: bigint, month: bigint, dow: bigint): CronSchedule => ({
    minute, hour, dom, month, dow, domStar: false, dowStar: false, timeZone,
  });
  const z = 1n; // bit 0
  switch (spec) {
    case '@yearly':
    case '@annually':
      return { ...base(z, z, 1n << 1n, 1n << 1n, ALL(DOW)), dowStar: true };
    case '@monthly':
      return { ...base(z, z, 1n << 1n, ALL(MONTH), ALL(DOW)), dowStar: true };
    case '@weekly':
      return { ...base(z, z, ALL(DOM), ALL(MONTH), 1n), domStar: true };
    case '@daily':
    case '@midnight':
      return { ...base(z, z, ALL(DOM), ALL(MONTH), ALL(DOW)), domStar: true, dowStar: true };
    case '@hourly':
      return { ...base(z, ALL(HOUR), ALL(DOM), ALL(MONTH), ALL(DOW)), domStar: true, dowStar: true };
  }
  if (spec.startsWith('@every ')) {
    const ms = parseGoDuration(spec.slice('@every '.length).trim());
    // robfig rounds intervals below a second up to one second.
    return { ...base(0n, 0n, 0n, 0n, 0n), everyMs: Math.max(1000, Math.floor(ms / 1000) * 1000), timeZone };
  }
  throw new CronParseError(`unrecognized descriptor: ${spec}`);
}

/** Parses a CronJob schedule; throws CronParseError with robfig/cron's message. */
export function parseCron(schedule: string): CronSchedule {
  let spec = schedule;
  if (spec.length === 0) throw new CronParseError('empty spec string');
  let timeZone: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const sp = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    timeZone = spec.slice(eq + 1, sp < 0 ? undefined : sp);
    if (!isValidTimeZone(timeZone)) throw new CronParseError(`provided bad location ${timeZone}: unknown time zone ${timeZone}`);
    spec = sp < 0 ? '' : spec.slice(sp + 1).trim();
  }
  if (spec.startsWith('@')) return descriptor(spec, timeZone);
  const fields = spec.trim().split(/\s+/).filter((f) => f.length > 0);
  if (fields.length !== 5)
    throw new CronParseError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [minute] = parseField(fields[0], MINUTE);
  const [hour] = parseField(fields[1], HOUR);
  const [dom, domStar] = parseField(fields[2], DOM);
  const [month] = parseField(fields[3], MONTH);
  // Sunday may also be written 7.
  const [dow7, dowStar] = parseField(fields[4], { ...DOW, max: 7 });
  const dow = (dow7 & ALL(DOW)) | ((dow7 >> 7n) & 1n);
  return { minute, hour, dom, month, dow, domStar, dowStar, timeZone };
}

/** The robfig/cron error text for schedule, or undefined when it parses. */
export function cronScheduleError(schedule: string): string | undefined {
  try {
    parseCron(schedule);
    return undefined;
  } catch (e) {
    if (e instanceof CronParseError) return e.message;
    throw e;
  }
}

/** Whether zone is an IANA time zone name this runtime knows (as Go's time.LoadLocation). */
export function isValidTimeZone(zone: string): boolean {
  if (zone === '' || zone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// ---- next activation ----

interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
}

const has = (bits: bigint, n: number) => ((bits >> BigInt(n)) & 1n) === 1n;

/** Wall-clock fields of instant t in zone (UTC when zone is undefined). */
function wallClock(t: number, zone?: string): WallClock {
  if (!zone || zone === 'UTC') {
    const d = new Date(t);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
  }
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour') % 24, minute: get('minute') };
}

/** The instant at which zone's wall clock shows w (first such instant; skips forward over DST gaps). */
function instantOf(w: WallClock, zone?: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  if (!zone || zone === 'UTC') return asUtc;
  // Offset = wall - instant; iterate twice to settle around DST changes.
  let t = asUtc;
  for (let i = 0; i < 2; i++) {
    const seen = wallClock(t, zone);
    const offset = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute) - t;
    t = asUtc - offset;
  }
  return t;
}

function dayMatches(s: CronSchedule, y: number, m: number, d: number): boolean {
  const domOk = has(s.dom, d);
  const dowOk = has(s.dow, new Date(Date.UTC(y, m - 1, d)).getUTCDay());
  // As cron: when either field is a star, both must match; otherwise either may.
  return s.domStar || s.dowStar ? domOk && dowOk : domOk || dowOk;
}

/**
 * The first activation strictly after `after` (ms since epoch), or undefined if none within
 * five years. zone (e.g. spec.timeZone) applies unless the schedule has its own TZ= prefix.
 */
export function nextCronTime(s: CronSchedule, after: number, zone?: string): number | undefined {
  if (s.everyMs !== undefined) return Math.floor(after / 1000) * 1000 + s.everyMs;
  const tz = s.timeZone ?? zone;
  // Start at the next whole minute, in wall-clock terms.
  const w = wallClock(after + 60_000 - (after % 60_000), tz);
  const limitYear = w.year + 5;
  let { year, month, day, hour, minute } = w;
  while (year <= limitYear) {
    if (!has(s.month, month)) {
      month++;
      day = 1;
      hour = 0;
      minute = 0;
      if (month > 12) {
        month = 1;
        year++;
      }
      continue;
    }
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day > daysInMonth || !dayMatches(s, year, month, day)) {
      day++;
      hour = 0;
      minute = 0;
      if (day > daysInMonth) {
        day = 1;
        month++;
        if (month > 12) {
          month = 1;
          year++;
        }
      }
      continue;
    }
    if (!has(s.hour, hour)) {
      hour++;
      minute = 0;
      if (hour > 23) {
        hour = 0;
        day++;
      }
      continue;
    }
    if (!has(s.minute, minute)) {
      minute++;
      if (minute > 59) {
        minute = 0;
        hour++;
        if (hour > 23) {
          hour = 0;
          day++;
        }
      }
      continue;
    }
    const t = instantOf({ year, month, day, hour, minute }, tz);
    if (t > after) return t;
    minute++;
  }
  return undefined;
}

// Pieces the `skiff <component>` commands share: running a command with a one-line error and
// exit status 1, shutting down once on SIGTERM/SIGINT, and parsing Go-style flag values
// (booleans, durations, numbers) the way the upstream components' flags accept them.

/** Runs start(argv); any error becomes "skiff <name>: <message>" on stderr and exit status 1. */
export async function runCommand(name: string, start: (argv: string[]) => Promise<void>, argv: string[]): Promise<void> {
  try {
    await start(argv);
  } catch (e) {
    process.stderr.write(`skiff ${name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/** On the first SIGTERM or SIGINT runs stop(signal), then exits 0; later signals are ignored. */
export function exitOnSignals(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await stop(signal);
    process.exit(0);
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
}

/** "--leader-elect" alone means true, as Go's boolean flags (for flags parsed as strings). */
export function normalizeBoolFlags(args: string[], names: string[]): string[] {
  return args.map((a) => (names.includes(a) ? `${a}=true` : a));
}

/** A Go boolean flag value: true/1/t or false/0/f (any case). */
export function parseBool(v: string, flag: string): boolean {
  if (/^(true|1|t)$/i.test(v)) return true;
  if (/^(false|0|f)$/i.test(v)) return false;
  throw new Error(`invalid argument "${v}" for "${flag}" flag: expected a boolean`);
}

/** For flags parsed as booleans with allowNegative: --NAME=true becomes --NAME, --NAME=false --no-NAME. */
export function negatableBoolFlags(args: string[], names: string[]): string[] {
  return args.map((a) => {
    const m = /^--([^=]+)=(true|false)$/.exec(a);
    return m && names.includes(m[1]) ? (m[2] === 'true' ? `--${m[1]}` : `--no-${m[1]}`) : a;
  });
}

/** A number flag (undefined when not given); `nonNegative` also refuses values below 0. */
export function parseNumberFlag(v: string | undefined, flag: string, opts: { nonNegative?: boolean } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.nonNegative && n < 0)) throw new Error(`invalid argument "${v}" for "${flag}" flag`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1s", "1m30s", "250ms", "0") in milliseconds, or undefined when it is not one. */
export function goDurationMs(v: string): number | undefined {
  if (v === '0') return 0;
  if (!v) return undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m) return undefined;
    ms += Number(m[1]) * DURATION_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return ms;
}

/** "k=v,k2=v2" node labels (empty entries skipped); undefined for an absent or empty flag. */
export function parseNodeLabels(s: string | undefined): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const kv of s.split(',')) {
    if (!kv) continue;
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`invalid --node-labels entry "${kv}": expected key=value`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

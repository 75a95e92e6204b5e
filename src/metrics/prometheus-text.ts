// A parser for the Prometheus text exposition format (0.0.4), enough for kubelet
// /metrics/resource: comment lines, names, quoted label values with escapes, Go float
// spellings (NaN, +Inf, 1.5e+09) and optional millisecond timestamps.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestampMs?: number;
}

export class PrometheusParseError extends Error {
  constructor(lineNo: number, why: string) {
    super(`line ${lineNo}: ${why}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

function parseFloatGo(s: string): number {
  switch (s) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** Parses every sample; names filters to the wanted metric names (all when omitted). */
export function parsePrometheusText(text: string, names?: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    NAME.lastIndex = 0;
    const m = NAME.exec(line);
    if (!m) throw new PrometheusParseError(lineNo, `invalid metric name in ${JSON.stringify(line)}`);
    const name = m[0];
    if (names && !names.has(name)) continue;
    let i = NAME.lastIndex;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === '\t') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        LABEL_NAME.lastIndex = i;
        const ln = LABEL_NAME.exec(line);
        if (!ln) throw new PrometheusParseError(lineNo, `invalid label name at column ${i + 1}`);
        i = LABEL_NAME.lastIndex;
        while (line[i] === ' ') i++;
        if (line[i] !== '=') throw new PrometheusParseError(lineNo, `expected "=" after label ${ln[0]}`);
        i++;
        while (line[i] === ' ') i++;
        if (line[i] !== '"') throw new PrometheusParseError(lineNo, `expected a quoted value for label ${ln[0]}`);
        i++;
        let v = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new PrometheusParseError(lineNo, 'unterminated label value');
          i++;
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            v += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e ?? ''}`;
          } else v += c;
        }
        labels[ln[0]] = v;
        while (line[i] === ' ') i++;
        if (line[i] === ',') i++;
        else if (line[i] !== '}') throw new PrometheusParseError(lineNo, `expected "," or "}" after label ${ln[0]}`);
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (!rest[0]) throw new PrometheusParseError(lineNo, `missing value for ${name}`);
    const value = parseFloatGo(rest[0]);
    if (Number.isNaN(value) && rest[0] !== 'NaN') throw new PrometheusParseError(lineNo, `invalid value ${JSON.stringify(rest[0])}`);
    const sample: Sample = { name, labels, value };
    if (rest[1] !== undefined) {
      if (!/^-?\d+$/.test(rest[1])) throw new PrometheusParseError(lineNo, `invalid timestamp ${JSON.stringify(rest[1])}`);
      sample.timestampMs = Number(rest[1]);
    }
    out.push(sample);
  }
  return out;
}

// Label and field selectors as they arrive in ?labelSelector= and ?fieldSelector=,
// with upstream's syntax: "a=b,c!=d,e in (x,y),f notin (z),g,!h", and "k=v,k!=v" for fields.
import { badRequest } from './errors.js';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: 'gt' | 'lt'; values: string[] };

/** A compiled selector: test(labels) is true when every requirement holds. */
export interface LabelSelector {
  requirements: Requirement[];
  matches(labels: Record<string, string> | undefined): boolean;
}

function compile(requirements: Requirement[]): LabelSelector {
  return {
    requirements,
    matches(labels) {
      for (const r of requirements) {
        const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
        const v = has ? labels![r.key] : undefined;
        switch (r.op) {
          case 'in':
            if (!has || !r.values.includes(v!)) return false;
            break;
          case 'notin':
            if (has && r.values.includes(v!)) return false;
            break;
          case 'exists':
            if (!has) return false;
            break;
          case '!exists':
            if (has) return false;
            break;
          case 'gt':
          case 'lt': {
            if (!has) return false;
            const n = Number(v);
            const bound = Number(r.values[0]);
            if (Number.isNaN(n) || (r.op === 'gt' ? !(n > bound) : !(n < bound))) return false;
            break;
          }
        }
      }
      return true;
    },
  };
}

export const EVERYTHING: LabelSelector = compile([]);

/** Parses the label selector query syntax; throws BadRequest on syntax errors. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text || !text.trim()) return EVERYTHING;
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`);
  const skipWs = () => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = () => {
    skipWs();
    const start = i;
    while (i < s.length && !' ,=!()<>'.includes(s[i])) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === '!') {
      i++;
      const key = readKey();
      if (!key) throw fail('missing key after "!"');
      reqs.push({ key, op: '!exists' });
    } else {
      const key = readKey();
      if (!key) throw fail(`found '${s[i] ?? ''}', expected: identifier`);
      skipWs();
      if (i >= s.length || s[i] === ',') {
        reqs.push({ key, op: 'exists' });
      } else if (s.startsWith('==', i) || s[i] === '=') {
        i += s.startsWith('==', i) ? 2 : 1;
        reqs.push({ key, op: 'in', values: [readValue()] });
      } else if (s.startsWith('!=', i)) {
        i += 2;
        reqs.push({ key, op: 'notin', values: [readValue()] });
      } else if (s[i] === '>' || s[i] === '<') {
        const op = s[i] === '>' ? 'gt' : 'lt';
        i++;
        const v = readValue();
        if (!/^-?\d+$/.test(v)) throw fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op, values: [v] });
      } else if (/^in\s*\(/.test(s.slice(i)) || /^notin\s*\(/.test(s.slice(i))) {
        const op = s.startsWith('notin', i) ? 'notin' : 'in';
        i += op.length;
        skipWs();
        i++; // (
        const close = s.indexOf(')', i);
        if (close < 0) throw fail('found end of string, expected: )');
        const values = s
          .slice(i, close)
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
        i = close + 1;
        reqs.push({ key, op, values });
      } else {
        throw fail(`found '${s.slice(i)}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') throw fail(`found '${s[i]}', expected: ',' or 'end of string'`);
      i++;
    }
  }
  return compile(reqs);

  function readValue(): string {
    skipWs();
    const start = i;
    while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
    return s.slice(start, i);
  }
}

/** Turns a metav1.LabelSelector object into a compiled selector. */
export function labelSelectorFromObject(sel: any): LabelSelector {
  if (!sel) return compile([{ key: '', op: 'in', values: [] }]); // nil selector matches nothing
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: 'in', values: [String(v)] });
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[e.operator as 'In'];
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op) reqs.push({ key: e.key, op });
  }
  return compile(reqs);
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** Parses "a=b,c!=d"; backslash escapes as upstream's fields.ParseSelector. */
export function parseFieldSelector(text: string | null | undefined): FieldRequirement[] {
  if (!text || !text.trim()) return [];
  const out: FieldRequirement[] = [];
  for (const part of splitUnescaped(text, ',')) {
    if (part === '') continue;
    const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    out.push({ field: m[1].trim(), negate: m[2] === '!=', value: m[3].replace(/\\(.)/g, '$1') });
  }
  return out;
}

function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

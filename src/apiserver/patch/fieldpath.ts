// Field sets as server-side apply tracks them (structured-merge-diff's fieldpath.Set), kept directly
// in their FieldsV1 wire shape so decoding managedFields costs nothing:
//   { "f:spec": { "f:replicas": {} }, "f:metadata": { "f:labels": { ".": {}, "f:app": {} } } }
// Keys are path elements: `f:<field>`, `k:<json of key fields>` (map-list item), `v:<json>` (set
// item), `i:<index>`; "." marks the node itself as a member when it also has children; a node with
// no children is a member leaf. The root is never a member. Sets are treated as immutable values:
// operations share unchanged subtrees between inputs and outputs and never mutate them.

import { elementKind, type ElementKind } from './field-shape.js';

export type FieldSet = { [pathElement: string]: FieldSet };

const EMPTY: FieldSet = Object.freeze({}) as FieldSet;
export function emptySet(): FieldSet {
  return {};
}

function isMember(node: FieldSet): boolean {
  for (const k in node) return k === '.' || '.' in node;
  return true; // no children: a leaf member
}

function hasChildren(node: FieldSet): boolean {
  for (const k in node) if (k !== '.') return true;
  return false;
}

export function isEmpty(set: FieldSet): boolean {
  return !hasChildren(set);
}

/** Makes a child node from its membership and children (children may be empty). */
function makeNode(member: boolean, children: FieldSet | undefined): FieldSet | undefined {
  if (!children) return member ? {} : undefined;
  if (member) return { '.': {}, ...children };
  return children;
}

function nodeUnion(a: FieldSet, b: FieldSet): FieldSet {
  if (a === b) return a;
  let children: FieldSet | undefined;
  for (const k in a) {
    if (k === '.') continue;
    const bk = b[k];
    (children ??= {})[k] = bk ? nodeUnion(a[k], bk) : a[k];
  }
  for (const k in b) {
    if (k === '.' || k in a) continue;
    (children ??= {})[k] = b[k];
  }
  return makeNode(isMember(a) || isMember(b), children) ?? {};
}

function nodeDifference(a: FieldSet, b: FieldSet): FieldSet | undefined {
  if (a === b) return undefined;
  let children: FieldSet | undefined;
  let changed = false;
  for (const k in a) {
    if (k === '.') continue;
    const bk = b[k];
    if (!bk) {
      (children ??= {})[k] = a[k];
      continue;
    }
    const d = nodeDifference(a[k], bk);
    if (d !== a[k]) changed = true;
    if (d) (children ??= {})[k] = d;
  }
  const aMember = isMember(a);
  const member = aMember && !isMember(b);
  if (!changed && member === aMember) return a;
  return makeNode(member, children);
}

function nodeIntersection(a: FieldSet, b: FieldSet): FieldSet | undefined {
  if (a === b) return a;
  let children: FieldSet | undefined;
  // Iterate the smaller side.
  const [x, y] = Object.keys(a).length <= Object.keys(b).length ? [a, b] : [b, a];
  for (const k in x) {
    if (k === '.') continue;
    const yk = y[k];
    if (!yk) continue;
    const i = nodeIntersection(x[k], yk);
    if (i) (children ??= {})[k] = i;
  }
  return makeNode(isMember(a) && isMember(b), children);
}

/** The root is never a member: drop "." that node operations may have produced. */
function asRoot(node: FieldSet | undefined): FieldSet {
  if (!node) return {};
  if ('.' in node) {
    const { '.': _dot, ...rest } = node;
    return rest;
  }
  return node;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return asRoot(nodeUnion(a, b));
}

export function difference(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a) || isEmpty(b)) return a;
  const d = nodeDifference(a, b);
  return d === a ? a : asRoot(d);
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  if (isEmpty(a) || isEmpty(b)) return EMPTY;
  return asRoot(nodeIntersection(a, b));
}

export function equals(a: FieldSet, b: FieldSet): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    const bk = b[k];
    if (!bk || !equals(a[k], bk)) return false;
    n++;
  }
  for (const _k in b) n--;
  return n === 0;
}

/** Removes the subtree at a field-name prefix (upstream's exclude filter for reset fields). */
export function withoutPrefix(set: FieldSet, prefix: readonly string[]): FieldSet {
  return withoutPrefixAt(set, prefix, 0) ?? {};
}
function withoutPrefixAt(node: FieldSet, prefix: readonly string[], i: number): FieldSet | undefined {
  const key = 'f:' + prefix[i];
  const child = node[key];
  if (!child) return node;
  const next = i + 1 === prefix.length ? undefined : withoutPrefixAt(child, prefix, i + 1);
  if (next === child) return node;
  const out: FieldSet = { ...node };
  if (next) out[key] = next;
  else delete out[key];
  return out;
}

/** Removes exactly the member at a field-name path (not its children), as upstream's stripMeta does. */
export function withoutMember(set: FieldSet, path: readonly string[]): FieldSet {
  let single: FieldSet = {};
  for (let i = path.length - 1; i >= 0; i--) single = { ['f:' + path[i]]: single };
  return difference(set, single);
}

/**
 * Every named (struct) field that has children also becomes a member (upstream's
 * EnsureNamedFieldsAreMembers). Without a schema every `f:` child of a struct is named; map entries
 * (labels, annotations...) hold scalars, so they never have children and are unaffected.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet): FieldSet {
  return asRoot(ensureNamed(set, false));
}
function ensureNamed(node: FieldSet, named: boolean): FieldSet {
  let children: FieldSet | undefined;
  for (const k in node) {
    if (k === '.') continue;
    (children ??= {})[k] = ensureNamed(node[k], k.charCodeAt(0) === 102 /* f */);
  }
  return makeNode(named || isMember(node), children)!;
}

// ---- Path elements ---------------------------------------------------------------------------

/** JSON as Go's encoding/json writes it (HTML-safe escapes), which upstream uses for keys. */
export function goJSON(v: unknown): string {
  const s = JSON.stringify(v);
  return /[<>&\u2028\u2029]/.test(s) ? s.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : s;
}

/** `k:` element of a map-list item; undefined if a key field is missing (caller treats the list as atomic). */
export function keyElement(item: any, keys: readonly string[]): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const sorted = keys.length > 1 ? [...keys].sort() : keys;
  let s = 'k:{';
  for (let i = 0; i < sorted.length; i++) {
    const name = sorted[i];
    let v = item[name];
    if (v === undefined) v = keyDefault(name);
    if (v === undefined || v === null || typeof v === 'object') return undefined;
    s += (i ? ',' : '') + goJSON(name) + ':' + goJSON(v);
  }
  return s + '}';
}

/**
 * Defaults of key fields the schema declares, used for lookups only (upstream's associative-key
 * defaults): port lists are keyed by protocol, which defaults to TCP.
 */
function keyDefault(name: string): unknown {
  return name === 'protocol' ? 'TCP' : undefined;
}

export function valueElement(v: unknown): string {
  return 'v:' + goJSON(v);
}

/** Human form of a path, as upstream's Path.String(): `.spec.containers[name="nginx"].image`. */
export function pathString(elements: readonly string[]): string {
  let s = '';
  for (const pe of elements) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case 'f':
        s += '.' + body;
        break;
      case 'k': {
        const key = JSON.parse(body) as Record<string, unknown>;
        const parts = Object.keys(key).map((n) => `${n}=${valueString(key[n])}`);
        parts.sort();
        s += '[' + parts.join(',') + ']';
        break;
      }
      case 'v':
        s += '[=' + valueString(JSON.parse(body)) + ']';
        break;
      case 'i':
        s += '[' + body + ']';
        break;
      default:
        s += '{{invalid path element}}';
    }
  }
  return s;
}
function valueString(v: unknown): string {
  return typeof v === 'string' ? goJSON(v) : v === null ? 'null' : typeof v === 'object' ? goJSON(v) : String(v);
}

/** Paths of all members, in upstream's Set.Iterate order (members of a node, then its children). */
export function memberPaths(set: FieldSet): string[][] {
  const out: string[][] = [];
  const walk = (node: FieldSet, prefix: string[]) => {
    const keys = sortedKeys(node);
    for (const k of keys) if (isMember(node[k])) out.push([...prefix, k]);
    for (const k of keys) if (hasChildren(node[k])) walk(node[k], [...prefix, k]);
  };
  walk(set, []);
  return out;
}

// ---- Ordering and (de)serialization ------------------------------------------------------------

const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Upstream's PathElement ordering: fields < keys < values < indices, each by content. */
export function compareElements(a: string, b: string): number {
  const ka = KIND_ORDER[a[0]] ?? 4;
  const kb = KIND_ORDER[b[0]] ?? 4;
  if (ka !== kb) return ka - kb;
  switch (a[0]) {
    case 'f':
      return a < b ? -1 : a > b ? 1 : 0;
    case 'k':
      return compareKeyFields(JSON.parse(a.slice(2)), JSON.parse(b.slice(2)));
    case 'v':
      return compareValues(JSON.parse(a.slice(2)), JSON.parse(b.slice(2)));
    case 'i':
      return Number(a.slice(2)) - Number(b.slice(2));
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeyFields(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const an = Object.keys(a).sort();
  const bn = Object.keys(b).sort();
  for (let i = 0; ; i++) {
    if (i >= an.length || i >= bn.length) return an.length - bn.length;
    if (an[i] !== bn[i]) return an[i] < bn[i] ? -1 : 1;
    const c = compareValues(a[an[i]], b[bn[i]]);
    if (c) return c;
  }
}

/** Upstream's total order over values: numbers < strings < booleans < lists < maps < null. */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) =>
    typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : typeof v === 'boolean' ? 2 : Array.isArray(v) ? 3 : v !== null && typeof v === 'object' ? 4 : 5;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return (a as number) - (b as number);
    case 1:
      return a! < b! ? -1 : a! > b! ? 1 : 0;
    case 2:
      return Number(a) - Number(b);
    case 3: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c) return c;
      }
      return x.length - y.length;
    }
    case 4:
      return compareKeyFields(a as Record<string, unknown>, b as Record<string, unknown>);
  }
  return 0;
}

function sortedKeys(node: FieldSet): string[] {
  const keys: string[] = [];
  let simple = true;
  for (const k in node) {
    if (k === '.') continue;
    keys.push(k);
    if (k.charCodeAt(0) !== 102 /* f */) simple = false;
  }
  if (keys.length > 1) keys.sort(simple ? undefined : compareElements);
  return keys;
}

/** The canonical FieldsV1 object: "." first, then elements in upstream's order. */
export function toFieldsV1(set: FieldSet): FieldSet {
  return canonical(set, false);
}
function canonical(node: FieldSet, member: boolean): FieldSet {
  const out: FieldSet = {};
  const keys = sortedKeys(node);
  if (member && keys.length) out['.'] = {};
  for (const k of keys) out[k] = canonical(node[k], '.' in node[k]);
  return out;
}

const validated = new WeakSet<object>();

/**
 * Accepts a FieldsV1 object as a set (no copy). Throws on malformed input: non-object nodes,
 * unknown element prefixes, undecodable keys, or a "." with a non-empty value.
 */
export function fromFieldsV1(fields: unknown): FieldSet {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new Error('FieldsV1 must be a JSON object');
  if (validated.has(fields)) return fields as FieldSet;
  validateNode(fields as Record<string, unknown>, true);
  validated.add(fields);
  return fields as FieldSet;
}
function validateNode(node: Record<string, unknown>, root: boolean): void {
  for (const k in node) {
    const v = node[k];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`invalid FieldsV1 value at ${k}`);
    if (k === '.') {
      if (root || Object.keys(v).length) throw new Error('invalid "." element in FieldsV1');
      continue;
    }
    const kind = k.slice(0, 2);
    if (kind === 'k:' || kind === 'v:') {
      try {
        const parsed = JSON.parse(k.slice(2));
        if (kind === 'k:' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error();
      } catch {
        throw new Error(`invalid path element ${JSON.stringify(k)} in FieldsV1`);
      }
    } else if (kind === 'i:') {
      if (!/^\d+$/.test(k.slice(2))) throw new Error(`invalid path element ${JSON.stringify(k)} in FieldsV1`);
    } else if (kind !== 'f:') {
      throw new Error(`invalid path element ${JSON.stringify(k)} in FieldsV1`);
    }
    validateNode(v as Record<string, unknown>, false);
  }
}

// ---- Field sets of objects ---------------------------------------------------------------------

/**
 * The fields an object sets (upstream's ToFieldSet): scalar, null, empty-object and atomic values
 * are members; map-list and set-list items are members themselves; structs contribute only through
 * their children.
 */
export function fieldsOf(obj: any, group: string, kind: string): FieldSet {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return {};
  const path: string[] = [];
  return structFields(obj, group, kind, path) ?? {};
}

function structFields(obj: Record<string, any>, group: string, kind: string, path: string[]): FieldSet | undefined {
  let out: FieldSet | undefined;
  for (const name in obj) {
    const v = obj[name];
    if (v === undefined) continue;
    path.push(name);
    const child = valueFields(v, group, kind, path);
    path.pop();
    if (child) (out ??= {})['f:' + name] = child;
  }
  return out;
}

function valueFields(v: any, group: string, kind: string, path: string[]): FieldSet | undefined {
  const ek: ElementKind = elementKind(v, group, kind, path);
  switch (ek.type) {
    case 'leaf':
      return {};
    case 'struct':
      return structFields(v, group, kind, path) ?? {}; // empty object: a member
    case 'map-list': {
      let out: FieldSet | undefined;
      for (const item of v as any[]) {
        const pe = keyElement(item, ek.keys)!;
        const inner = ek.atomicItems ? undefined : structFields(item, group, kind, path);
        (out ??= {})[pe] = inner ? { '.': {}, ...inner } : {};
      }
      return out;
    }
    case 'set-list': {
      let out: FieldSet | undefined;
      for (const item of v as any[]) (out ??= {})[valueElement(item)] = {};
      return out;
    }
  }
}

// Schema-aware operations on objects that server-side apply needs (structured-merge-diff's
// TypedValue Compare, Merge and RemoveItems), guided by field-shape.ts. All functions are
// copy-on-write: inputs are never mutated and unchanged subtrees are shared with the output.

import { elementKind } from './field-shape.js';
import { keyElement, valueElement, type FieldSet } from './fieldpath.js';

interface Ctx {
  group: string;
  kind: string;
  path: string[];
}

const MANAGED_FIELDS = 'managedFields';

/** Skips metadata.managedFields everywhere: it is never part of what managers own. */
function skipped(ctx: Ctx, name: string): boolean {
  return name === MANAGED_FIELDS && ctx.path.length === 1 && ctx.path[0] === 'metadata';
}

export function deepEqual(a: any, b: any): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let n = 0;
  for (const k in a) {
    if (a[k] === undefined) continue;
    if (!deepEqual(a[k], b[k])) return false;
    n++;
  }
  for (const k in b) if (b[k] !== undefined) n--;
  return n === 0;
}

// ---- Compare ---------------------------------------------------------------------------------

export interface Comparison {
  /** Added or modified paths (upstream's Added ∪ Modified). */
  changed: FieldSet;
  removed: FieldSet;
}

type Diff = { c?: FieldSet; r?: FieldSet } | undefined;

/**
 * What changed from lhs to rhs. Leaves are added/modified/removed by value; structs, lists and list
 * items are themselves added (or removed) when absent on one side, which is where FieldsV1's "."
 * entries come from. A null lhs counts as an existing empty value (Go's zero-value lists).
 */
export function compare(lhs: any, rhs: any, group: string, kind: string): Comparison {
  const d = compareStruct(lhs ?? {}, rhs ?? {}, { group, kind, path: [] });
  return { changed: d?.c ?? {}, removed: d?.r ?? {} };
}

function addChild(d: Diff, pe: string, child: Diff): Diff {
  if (!child) return d;
  d ??= {};
  if (child.c) (d.c ??= {})[pe] = child.c;
  if (child.r) (d.r ??= {})[pe] = child.r;
  return d;
}

/** Marks the node itself as added/removed (a member) on top of its children's changes. */
function markNode(d: Diff, added: boolean, removed: boolean): Diff {
  if (!added && !removed) return d;
  d ??= {};
  if (added) d.c = d.c ? { '.': {}, ...d.c } : {};
  if (removed) d.r = d.r ? { '.': {}, ...d.r } : {};
  return d;
}

function compareStruct(l: Record<string, any>, r: Record<string, any>, ctx: Ctx): Diff {
  let d: Diff;
  for (const k in r) {
    if (r[k] === undefined || skipped(ctx, k)) continue;
    ctx.path.push(k);
    d = addChild(d, 'f:' + k, compareValue(l[k], r[k], ctx));
    ctx.path.pop();
  }
  for (const k in l) {
    if (l[k] === undefined || (k in r && r[k] !== undefined) || skipped(ctx, k)) continue;
    ctx.path.push(k);
    d = addChild(d, 'f:' + k, compareValue(l[k], undefined, ctx));
    ctx.path.pop();
  }
  return d;
}

const LEAF_ADDED: Diff = Object.freeze({ c: Object.freeze({}) as FieldSet });
const LEAF_REMOVED: Diff = Object.freeze({ r: Object.freeze({}) as FieldSet });

function compareValue(l: any, r: any, ctx: Ctx): Diff {
  if (l === r) return undefined;
  const lk = l === undefined || l === null ? undefined : elementKind(l, ctx.group, ctx.kind, ctx.path);
  const rk = r === undefined || r === null ? undefined : elementKind(r, ctx.group, ctx.kind, ctx.path);
  const kind = rk ?? lk;
  // Leaves, and values whose shape differs between the sides, compare as a whole.
  if (!kind || kind.type === 'leaf' || (lk && rk && lk.type !== rk.type) || (l === null && r === undefined)) {
    if (l === undefined) return LEAF_ADDED;
    if (r === undefined) return LEAF_REMOVED;
    return deepEqual(l, r) ? undefined : LEAF_ADDED;
  }
  const added = l === undefined;
  const removed = r === undefined;
  let d: Diff;
  switch (kind.type) {
    case 'struct':
      d = compareStruct(l ?? {}, r ?? {}, ctx);
      break;
    case 'map-list': {
      const li = indexItems(l, kind.keys);
      const ri = indexItems(r, kind.keys);
      for (const [pe, item] of ri) d = addChild(d, pe, compareItem(li.get(pe), item, kind.atomicItems, ctx));
      for (const [pe, item] of li) if (!ri.has(pe)) d = addChild(d, pe, compareItem(item, undefined, kind.atomicItems, ctx));
      break;
    }
    case 'set-list': {
      const ls = new Set<string>();
      if (Array.isArray(l)) for (const v of l) ls.add(valueElement(v));
      const rs = new Set<string>();
      if (Array.isArray(r)) for (const v of r) rs.add(valueElement(v));
      for (const pe of rs) if (!ls.has(pe)) d = addChild(d, pe, LEAF_ADDED);
      for (const pe of ls) if (!rs.has(pe)) d = addChild(d, pe, LEAF_REMOVED);
      break;
    }
  }
  return markNode(d, added, removed);
}

function compareItem(l: any, r: any, atomic: boolean, ctx: Ctx): Diff {
  if (l === r) return undefined;
  if (atomic) {
    if (l === undefined) return LEAF_ADDED;
    if (r === undefined) return LEAF_REMOVED;
    return deepEqual(l, r) ? undefined : LEAF_ADDED;
  }
  return markNode(compareStruct(l ?? {}, r ?? {}, ctx), l === undefined, r === undefined);
}

/** Items of a map-list by their `k:` element (later duplicates win). */
function indexItems(list: any, keys: readonly string[]): Map<string, any> {
  const m = new Map<string, any>();
  if (Array.isArray(list)) {
    for (const item of list) {
      const pe = keyElement(item, keys);
      if (pe) m.set(pe, item);
    }
  }
  return m;
}

// ---- Merge -----------------------------------------------------------------------------------

/**
 * Applies cfg onto live (upstream's TypedValue.Merge): struct fields merge recursively, map-list
 * items merge by key and set-list items by value (keeping live order for items cfg lacks), all else
 * is replaced. A null in cfg removes the field from the result.
 */
export function merge(live: any, cfg: any, group: string, kind: string): any {
  return mergeStruct(isPlainObject(live) ? live : {}, cfg, { group, kind, path: [] });
}

function isPlainObject(v: any): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeStruct(l: Record<string, any>, r: Record<string, any>, ctx: Ctx): Record<string, any> {
  const out: Record<string, any> = { ...l };
  for (const k in r) {
    const rv = r[k];
    if (rv === undefined || skipped(ctx, k)) continue;
    if (rv === null) {
      delete out[k];
      continue;
    }
    ctx.path.push(k);
    out[k] = mergeValue(l[k], rv, ctx);
    ctx.path.pop();
  }
  return out;
}

function mergeValue(l: any, r: any, ctx: Ctx): any {
  if (l === undefined || l === null) return r;
  const rk = elementKind(r, ctx.group, ctx.kind, ctx.path);
  if (rk.type === 'leaf') return r;
  const lk = elementKind(l, ctx.group, ctx.kind, ctx.path);
  if (lk.type !== rk.type) return r;
  switch (rk.type) {
    case 'struct':
      return mergeStruct(l, r, ctx);
    case 'map-list': {
      const keyOf = (item: any) => keyElement(item, rk.keys)!;
      return mergeOrdered(l, r, keyOf, (li, ri) => (li === undefined || rk.atomicItems ? ri : mergeStruct(li, ri, ctx)));
    }
    case 'set-list':
      return mergeOrdered(l, r, valueElement, (_li, ri) => ri);
  }
}

/**
 * Merges two keyed lists the way upstream orders them: items only in live keep their place,
 * items in both follow cfg's order, and cfg's new items are placed where cfg puts them.
 */
function mergeOrdered(l: any[], r: any[], keyOf: (item: any) => string, mergeItem: (li: any, ri: any) => any): any[] {
  const lKeys = l.map(keyOf);
  const rKeys = r.map(keyOf);
  const lByKey = new Map<string, any>();
  l.forEach((item, i) => lByKey.set(lKeys[i], item));
  const rByKey = new Map<string, any>();
  r.forEach((item, i) => rByKey.set(rKeys[i], item));
  // Keys in both lists, in cfg's order; `shared[next]` is the one due next.
  const shared = rKeys.filter((k) => lByKey.has(k));
  let next = 0;
  const emitted = new Set<string>();
  const out: any[] = [];
  const emit = (key: string) => {
    emitted.add(key);
    out.push(mergeItem(lByKey.get(key), rByKey.get(key)));
  };
  let li = 0;
  let ri = 0;
  while (li < lKeys.length || ri < rKeys.length) {
    if (li < lKeys.length && ri < rKeys.length) {
      if (lKeys[li] === rKeys[ri]) {
        if (!emitted.has(rKeys[ri])) emit(rKeys[ri]);
        li++;
        ri++;
        next++;
        continue;
      }
      // A shared item that cfg places later: skip it here, cfg's order emits it.
      if (rByKey.has(lKeys[li]) && next < shared.length && shared[next] !== lKeys[li]) {
        li++;
        continue;
      }
    }
    if (li < lKeys.length) {
      const key = lKeys[li];
      if (!rByKey.has(key)) {
        out.push(l[li]);
        li++;
        continue;
      }
      if (emitted.has(key)) {
        li++;
        continue;
      }
    }
    if (ri < rKeys.length) {
      const key = rKeys[ri];
      if (!emitted.has(key)) emit(key);
      ri++;
      if (shared[next] === key) next++;
    } else {
      li++; // unreachable in practice: every shared key is emitted once cfg is exhausted
    }
  }
  return out;
}

// ---- RemoveItems -----------------------------------------------------------------------------

function isMember(node: FieldSet): boolean {
  for (const k in node) return k === '.' || '.' in node;
  return true;
}

/**
 * Removes the members of set from obj (whole subtrees at member paths; descending into
 * non-member nodes). Containers emptied by the removal disappear, as upstream nulls them.
 */
export function removeItems(obj: any, set: FieldSet, group: string, kind: string): any {
  if (!isPlainObject(obj)) return obj;
  return removeStruct(obj, set, { group, kind, path: [] }) ?? {};
}

function removeStruct(obj: Record<string, any>, set: FieldSet, ctx: Ctx): Record<string, any> | undefined {
  let out: Record<string, any> | undefined;
  for (const pe in set) {
    if (pe === '.' || pe.charCodeAt(0) !== 102 /* f */) continue;
    const name = pe.slice(2);
    const v = obj[name];
    if (v === undefined) continue;
    const node = set[pe];
    let nv: any;
    if (isMember(node)) nv = undefined;
    else {
      ctx.path.push(name);
      nv = removeValue(v, node, ctx);
      ctx.path.pop();
      if (nv === v) continue;
    }
    out ??= { ...obj };
    if (nv === undefined) delete out[name];
    else out[name] = nv;
  }
  if (!out) return obj;
  for (const _k in out) return out;
  return undefined;
}

function removeValue(v: any, set: FieldSet, ctx: Ctx): any {
  if (v === null || typeof v !== 'object') return v;
  const ek = elementKind(v, ctx.group, ctx.kind, ctx.path);
  switch (ek.type) {
    case 'leaf':
      return v;
    case 'struct':
      return removeStruct(v, set, ctx);
    case 'map-list':
    case 'set-list': {
      let out: any[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        const pe = ek.type === 'map-list' ? keyElement(item, ek.keys)! : valueElement(item);
        const node = set[pe];
        let ni = item;
        if (node) {
          if (isMember(node)) ni = undefined;
          else if (ek.type === 'map-list' && !ek.atomicItems) ni = removeStruct(item, node, ctx) ?? {};
        }
        if (ni !== item && !out) out = v.slice(0, i);
        if (out && ni !== undefined) out.push(ni);
      }
      if (!out) return v;
      return out.length ? out : undefined;
    }
  }
}

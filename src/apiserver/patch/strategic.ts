// Strategic merge patch (application/strategic-merge-patch+json), as upstream's
// apimachinery strategicpatch applies it on the server: maps merge key by key (null deletes),
// lists with patch strategy "merge" merge by their merge key (or as sets of scalars), other
// lists are replaced; directives $patch, $retainKeys, $deleteFromPrimitiveList/<f> and
// $setElementOrder/<f> are honoured. Patch metadata comes from the schemas in src/api/schema.
import { definition, keyForKind, type Definition, type Field, type FieldType } from '../../api/schema/index.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

type Obj = Record<string, any>;
/** What we know of the value being merged: a struct definition, a map's value type, or nothing. */
type Ctx = { def?: Definition; mapValues?: FieldType } | undefined;

/**
 * Applies patch to original and returns the result as a new object (inputs are not modified).
 * Throws an Error with upstream-like wording when the patch is malformed.
 */
export function strategicMergePatch(original: any, patch: any, group: string, kind: string): any {
  if (!isObj(patch)) throw new Error('invalid patch: a strategic merge patch must be a JSON object');
  const key = keyForKind(group, 'v1', kind);
  const ctx: Ctx = key ? { def: definition(key) } : undefined;
  const base = isObj(original) ? structuredClone(original) : {};
  return mergeMap(base, patch, ctx);
}

/** Merges patch into orig (which is ours to modify) and returns the result. */
function mergeMap(orig: Obj, patch: Obj, ctx: Ctx): Obj {
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') return withoutDirectives(patch, ctx);
    if (d === 'delete') return {};
    if (d !== 'merge') throw badPatchType(d, patch);
  }
  if (RETAIN_KEYS in patch) applyRetainKeys(orig, patch);

  // $setElementOrder lists are applied after the list they order has merged, against the
  // order the server had before.
  const orders: [string, unknown, unknown][] = [];
  for (const [k, pv] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS) continue;
    if (k.startsWith(SET_ORDER)) {
      const name = k.slice(SET_ORDER.length);
      orders.push([name, pv, orig[name]]);
      continue;
    }
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const name = k.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(pv)) throw badArgType('[]interface{}', pv);
      if (Array.isArray(orig[name])) orig[name] = orig[name].filter((x: unknown) => !pv.some((d) => scalarEq(d, x)));
      continue;
    }
    if (pv === null) {
      delete orig[k];
      continue;
    }
    const field = ctx?.def?.fields.get(k);
    const childType = field?.type ?? ctx?.mapValues;
    const ov = orig[k];
    if (ov === undefined || ov === null) {
      orig[k] = fresh(pv, childType, field);
    } else if (isObj(ov) && isObj(pv)) {
      orig[k] = mergeMap(ov, pv, ctxOf(childType));
    } else if (Array.isArray(ov) && Array.isArray(pv)) {
      orig[k] = mergeList(ov, pv, childType, field);
    } else {
      orig[k] = fresh(pv, childType, field);
    }
  }
  for (const [name, wanted, before] of orders) {
    if (!Array.isArray(wanted)) throw badArgType('[]interface{}', wanted);
    if (!Array.isArray(orig[name])) continue;
    const mergeKey = ctx?.def?.fields.get(name)?.meta?.mergeKey;
    orig[name] = order(orig[name], wanted, Array.isArray(before) ? before : [], mergeKey);
  }
  return orig;
}

function applyRetainKeys(orig: Obj, patch: Obj): void {
  const keep = patch[RETAIN_KEYS];
  if (!Array.isArray(keep)) throw badArgType('[]interface{}', keep);
  const set = new Set(keep);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k === RETAIN_KEYS || k === DIRECTIVE || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
    if (!set.has(k)) throw new Error('invalid patch format of retainKeys');
  }
  for (const k of Object.keys(orig)) if (!set.has(k)) delete orig[k];
}

function mergeList(orig: any[], patch: any[], type: FieldType | undefined, field: Field | undefined): any[] {
  const items = type?.t === 'array' ? type.items : undefined;
  const strategy = field?.meta?.patchStrategy ?? '';
  if (!strategy.split(',').includes('merge')) return fresh(patch, type, field);
  if (orig.length === 0 && patch.length === 0) return orig;
  const mergeKey = field?.meta?.mergeKey;
  const mapItems = patch.some(isObj) || orig.some(isObj);
  if (!mapItems) {
    // A set of scalars: union without duplicates, in original-then-patch order.
    const out: any[] = [];
    for (const v of [...orig, ...patch]) if (!out.some((x) => scalarEq(x, v))) out.push(v);
    return order(out, patch, orig, undefined);
  }
  if (!mergeKey) throw new Error('cannot merge lists without merge key for ' + (field?.name ?? 'list'));
  const itemCtx = ctxOf(items);

  // Elements carrying $patch: delete removes matching originals; replace swaps the whole list.
  let replace = false;
  const plain: Obj[] = [];
  let base = orig;
  for (const el of patch) {
    if (!isObj(el)) throw new Error(`cannot merge a list of maps with an element that is not a map: ${goFmt(el)}`);
    if (!(DIRECTIVE in el)) {
      plain.push(el);
      continue;
    }
    const d = el[DIRECTIVE];
    if (d === 'delete') {
      if (!(mergeKey in el)) throw noMergeKey(el, mergeKey);
      base = base.filter((o) => !(isObj(o) && scalarEq(o[mergeKey], el[mergeKey])));
    } else if (d === 'replace') replace = true;
    else if (d === 'merge') throw new Error('merging lists cannot yet be specified in the patch');
    else throw badPatchType(d, el);
  }
  if (replace) return plain.map((el) => mergeMap({}, el, itemCtx));

  const merged = [...base];
  for (const el of plain) {
    if (!(mergeKey in el)) throw noMergeKey(el, mergeKey);
    const i = merged.findIndex((o) => isObj(o) && scalarEq(o[mergeKey], el[mergeKey]));
    if (i >= 0) merged[i] = mergeMap(merged[i], el, itemCtx);
    else merged.push(mergeMap({}, el, itemCtx));
  }
  return order(merged, plain, orig, mergeKey);
}

/**
 * Upstream's element ordering: items named by patchOrder come in that order; items only on the
 * server keep their server order and are interleaved before the first patch item that the
 * server had after them.
 */
function order(merged: any[], patchOrder: any[], serverOrder: any[], mergeKey: string | undefined): any[] {
  const id = (v: any) => (mergeKey !== undefined && isObj(v) ? v[mergeKey] : v);
  const indexIn = (list: any[], v: any) => list.findIndex((x) => scalarEq(id(x), id(v)));
  const inPatch: any[] = [];
  const serverOnly: any[] = [];
  for (const v of merged) (indexIn(patchOrder, v) >= 0 ? inPatch : serverOnly).push(v);
  inPatch.sort((a, b) => indexIn(patchOrder, a) - indexIn(patchOrder, b));
  serverOnly.sort((a, b) => indexIn(serverOrder, a) - indexIn(serverOrder, b));
  const out: any[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < inPatch.length) {
    if (i >= serverOnly.length) out.push(inPatch[j++]);
    else if (j >= inPatch.length) out.push(serverOnly[i++]);
    else {
      const li = indexIn(serverOrder, serverOnly[i]);
      const ri = indexIn(serverOrder, inPatch[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(inPatch[j++]);
    }
  }
  return out;
}

/** A patch value placed where the original had nothing (or something of another shape). */
function fresh(v: any, type: FieldType | undefined, field: Field | undefined): any {
  if (isObj(v)) return mergeMap({}, v, ctxOf(type));
  if (Array.isArray(v)) {
    const strategy = field?.meta?.patchStrategy ?? '';
    if (strategy.split(',').includes('merge') && v.some(isObj)) return mergeList([], v, type, field);
    const items = type?.t === 'array' ? type.items : undefined;
    return v.map((x) => (isObj(x) ? withoutDirectives(x, ctxOf(items)) : clone(x)));
  }
  return v;
}

/** A copy of a map with nulls and directives dropped (as upstream stores a "$patch: replace" map). */
function withoutDirectives(m: Obj, ctx: Ctx): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(m)) {
    if (k === DIRECTIVE || v === null) continue;
    out[k] = isObj(v) || Array.isArray(v) ? fresh(v, ctx?.def?.fields.get(k)?.type ?? ctx?.mapValues, ctx?.def?.fields.get(k)) : v;
  }
  return out;
}

function ctxOf(type: FieldType | undefined): Ctx {
  if (!type) return undefined;
  if (type.t === 'ref') return { def: definition(type.key) };
  if (type.t === 'map') return { mapValues: type.values };
  return undefined;
}

function clone<T>(v: T): T {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarEq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Roughly Go's %v of a decoded JSON value, as upstream error messages print patches. */
function goFmt(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(goFmt).join(' ') + ']';
  if (isObj(v)) return 'map[' + Object.keys(v).sort().map((k) => k + ':' + goFmt(v[k])).join(' ') + ']';
  if (v === null || v === undefined) return '<nil>';
  return String(v);
}

function badPatchType(t: unknown, m: Obj): Error {
  return new Error(`unknown patch type: ${goFmt(t)} in map: ${goFmt(m)}`);
}
function noMergeKey(m: Obj, key: string): Error {
  return new Error(`map: ${goFmt(m)} does not contain declared merge key: ${key}`);
}
function badArgType(expected: string, actual: unknown): Error {
  const got = Array.isArray(actual) ? '[]interface{}' : isObj(actual) ? 'map[string]interface{}' : typeof actual === 'string' ? 'string' : typeof actual === 'number' ? 'float64' : typeof actual === 'boolean' ? 'bool' : '<nil>';
  return new Error(`expected a ${expected}, but received a ${got}`);
}

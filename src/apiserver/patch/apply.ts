// Server-side apply (PATCH with application/apply-patch+yaml): merges an applied configuration into
// the live object, prunes what the manager stopped applying, detects conflicts with other managers
// and records the manager's Apply entry in metadata.managedFields (upstream's fieldmanager.Apply
// over structured-merge-diff's Updater.Apply).

import {
  difference,
  ensureNamedFieldsAreMembers,
  fieldsOf,
  goJSON,
  intersection,
  isEmpty,
  memberPaths,
  pathString,
  union,
  type FieldSet,
} from './fieldpath.js';
import { zeroObject } from './field-shape.js';
import {
  BEFORE_FIRST_APPLY,
  capUpdateManagers,
  conflictsWith,
  decodeOrEmpty,
  encodeManagedFields,
  filterComparison,
  filterSet,
  managerIdentity,
  recordUpdate,
  releaseChanged,
  resetPrefixes,
  setManagedFields,
  stripMeta,
  type Managed,
  type Operation,
  type ResetOptions,
} from './managed-fields.js';
import { compare, deepEqual, merge, removeItems } from './structured.js';

export interface ApplyOptions extends ResetOptions {
  manager: string;
  force: boolean;
  group: string;
  version: string;
  kind: string;
  now: string;
}

export interface ApplyConflict {
  /** Name of the manager that owns the field. */
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  /** Upstream's path string, e.g. `.spec.replicas` or `.spec.containers[name="nginx"].image`. */
  field: string;
}

/** A malformed applied configuration (the lead maps it to a 400 BadRequest Status). */
export class ApplyError extends Error {
  readonly code = 400;
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** kubectl's default manager for `apply --server-side`; it gets client-side-apply interop. */
const KUBECTL_SSA_MANAGER = 'kubectl';
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/**
 * Applies `applied` onto `live` (undefined: the apply creates the object). Returns the new object
 * (sharing nothing with the inputs) or the conflicts when other managers own fields the applied
 * configuration changes and force is false. Throws ApplyError for malformed configurations.
 * When the apply changes nothing, the result equals live including managedFields times.
 */
export function applyPatch(live: any | undefined, applied: any, opts: ApplyOptions): { object: any } | { conflicts: ApplyConflict[] } {
  if (applied === null || typeof applied !== 'object' || Array.isArray(applied)) throw new ApplyError('applied configuration must be an object');
  if (applied.metadata?.managedFields !== undefined && applied.metadata?.managedFields !== null)
    throw new ApplyError('metadata.managedFields must be nil');
  const { group, kind, manager } = opts;
  const apiVersion = group ? `${group}/${opts.version}` : opts.version;
  const resets = resetPrefixes(opts);
  const liveObj = withoutManagedFields(live) ?? {};

  const managed = decodeOrEmpty(live?.metadata?.managedFields);
  if (live !== undefined && managed.size === 0) {
    // Adopt an untracked object: its existing fields belong to "before-first-apply".
    const c = filterComparison(compare(zeroObject(kind), liveObj, group, kind), resets);
    recordUpdate(managed, c, BEFORE_FIRST_APPLY, apiVersion, opts.subresource, opts.now);
  }

  const selfId = managerIdentity(manager, 'Apply', apiVersion, opts.subresource);
  const newSet = filterSet(fieldsOf(applied, group, kind), resets);
  const lastSet = managed.get(selfId)?.set;
  managed.set(selfId, { manager, operation: 'Apply', apiVersion, subresource: opts.subresource, time: opts.now, set: newSet });

  let merged = merge(liveObj, applied, group, kind);
  if (lastSet && !isEmpty(lastSet)) merged = prune(merged, managed, lastSet, group, kind);

  const c = filterComparison(compare(liveObj, merged, group, kind), resets);
  const conflicts = conflictsWith(managed, c.changed, selfId);
  if (conflicts.length && !opts.force) {
    const remaining = manager === KUBECTL_SSA_MANAGER ? withoutLastAppliedConflicts(conflicts, liveObj, group, kind) : conflicts;
    if (remaining.length) return { conflicts: toConflicts(remaining) };
    // Every conflict is a field client-side apply set to its current value: take it over.
  }
  releaseChanged(managed, c, selfId);
  const self = managed.get(selfId)!;
  const ownSet = stripMeta(self.set);
  if (isEmpty(ownSet)) managed.delete(selfId);
  else managed.set(selfId, { ...self, set: ownSet });
  capUpdateManagers(managed);

  if (manager === KUBECTL_SSA_MANAGER) merged = syncLastApplied(merged, applied);

  const object = structuredClone(merged);
  const entries = encodeManagedFields(managed);
  if (live !== undefined && deepEqual(liveObj, merged) && sameIgnoringTimes(entries, live.metadata?.managedFields)) {
    // A no-op apply: keep live's entries so the object is unchanged (upstream ignores timestamp-only changes).
    setManagedFields(object, structuredClone(live.metadata?.managedFields ?? []));
  } else {
    setManagedFields(object, structuredClone(entries));
  }
  return { object };
}

function withoutManagedFields(obj: any): any {
  if (!obj?.metadata || obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/**
 * Removes what the manager applied last time but no longer applies, unless another manager owns
 * it (upstream's prune: remove everything last owned, add back what anyone owns, then add back
 * what was removed only as collateral of a removed parent).
 */
function prune(merged: any, managed: Managed, last: FieldSet, group: string, kind: string): any {
  const lastN = ensureNamedFieldsAreMembers(last);
  const fields = (o: any) => ensureNamedFieldsAreMembers(fieldsOf(o, group, kind));
  const mergedSet = fields(merged);
  let owned: FieldSet = {};
  for (const e of managed.values()) owned = union(owned, e.set);
  const withoutLast = removeItems(merged, lastN, group, kind);
  const keptOrOwned = removeItems(merged, difference(mergedSet, union(fields(withoutLast), ensureNamedFieldsAreMembers(owned))), group, kind);
  return removeItems(merged, intersection(difference(mergedSet, fields(keptOrOwned)), lastN), group, kind);
}

function toConflicts(list: Array<[{ manager: string; operation: Operation; apiVersion: string; subresource?: string }, FieldSet]>): ApplyConflict[] {
  const out: ApplyConflict[] = [];
  const sorted = [...list].sort(([a], [b]) => {
    const x = managerIdentity(a.manager, a.operation, a.apiVersion, a.subresource);
    const y = managerIdentity(b.manager, b.operation, b.apiVersion, b.subresource);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const [e, set] of sorted) {
    for (const p of memberPaths(set)) {
      const c: ApplyConflict = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, field: pathString(p) };
      if (e.subresource) c.subresource = e.subresource;
      out.push(c);
    }
  }
  return out;
}

// ---- Client-side apply interop (manager "kubectl" only, as upstream) ----------------------------

/**
 * Conflicts left after excusing fields the last-applied-configuration annotation holds with their
 * live values: kubectl's move from client-side to server-side apply takes those over silently.
 */
function withoutLastAppliedConflicts(conflicts: Array<[any, FieldSet]>, liveObj: any, group: string, kind: string): Array<[any, FieldSet]> {
  const text = liveObj?.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof text !== 'string' || !text) return conflicts;
  let lastApplied: any;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return conflicts;
  }
  if (lastApplied === null || typeof lastApplied !== 'object' || Array.isArray(lastApplied)) return conflicts;
  const unchanged = difference(fieldsOf(lastApplied, group, kind), compare(lastApplied, liveObj, group, kind).changed);
  const out: Array<[any, FieldSet]> = [];
  for (const [e, set] of conflicts) {
    const rest = difference(set, unchanged);
    if (!isEmpty(rest)) out.push([e, rest]);
  }
  return out;
}

/** Keeps an existing last-applied annotation in sync with what `kubectl apply --server-side` applied. */
function syncLastApplied(obj: any, applied: any): any {
  const annotations = obj?.metadata?.annotations;
  if (!annotations?.[LAST_APPLIED_ANNOTATION]) return obj;
  const config = { ...applied, metadata: { ...applied.metadata } };
  if (config.metadata.annotations) {
    const { [LAST_APPLIED_ANNOTATION]: _drop, ...rest } = config.metadata.annotations;
    config.metadata.annotations = rest;
  }
  const next = { ...annotations, [LAST_APPLIED_ANNOTATION]: sortedJSON(config) + '\n' };
  let size = 0;
  for (const k in next) size += k.length + String(next[k]).length;
  if (size > MAX_ANNOTATIONS_BYTES) delete next[LAST_APPLIED_ANNOTATION];
  return { ...obj, metadata: { ...obj.metadata, annotations: next } };
}

/** JSON with object keys sorted, as Go encodes maps. */
function sortedJSON(v: any): string {
  if (v === null || typeof v !== 'object') return goJSON(v);
  if (Array.isArray(v)) return '[' + v.map(sortedJSON).join(',') + ']';
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
  return '{' + keys.map((k) => goJSON(k) + ':' + sortedJSON(v[k])).join(',') + '}';
}

function sameIgnoringTimes(a: any[], b: any[] | undefined): boolean {
  const bb = b ?? [];
  if (a.length !== bb.length) return false;
  for (let i = 0; i < a.length; i++) {
    const { time: _t1, ...x } = a[i];
    const { time: _t2, ...y } = bb[i] ?? {};
    if (!deepEqual(x, y)) return false;
  }
  return true;
}

// ---- The 409 Status --------------------------------------------------------------------------

/** How upstream names a manager in conflict messages. */
export function printManager(c: { manager: string; operation: Operation; apiVersion: string; subresource?: string }): string {
  let s = JSON.stringify(c.manager);
  if (c.subresource) s += ` with subresource ${JSON.stringify(c.subresource)}`;
  if (c.operation === 'Update') s += ` using ${c.apiVersion}`;
  return s;
}

/**
 * Message and causes of the 409 Conflict Status (reason "Conflict") for an apply conflict, e.g.
 * `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas`.
 */
export function formatConflicts(conflicts: readonly ApplyConflict[]): {
  message: string;
  causes: Array<{ reason: 'FieldManagerConflict'; message: string; field: string }>;
} {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict' as const, message: `conflict with ${printManager(c)}`, field: c.field }));
  if (conflicts.length === 1) {
    const c = conflicts[0];
    return { message: `Apply failed with 1 conflict: conflict with ${printManager(c)}: ${c.field}`, causes };
  }
  const byManager = new Map<string, { printed: string; fields: string[] }>();
  for (const c of conflicts) {
    const id = managerIdentity(c.manager, c.operation, c.apiVersion, c.subresource);
    let g = byManager.get(id);
    if (!g) byManager.set(id, (g = { printed: printManager(c), fields: [] }));
    g.fields.push(c.field);
  }
  const lines: string[] = [];
  for (const id of [...byManager.keys()].sort()) {
    const g = byManager.get(id)!;
    lines.push(`conflicts with ${g.printed}:`);
    for (const f of g.fields) lines.push(`- ${f}`);
  }
  return { message: `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes };
}

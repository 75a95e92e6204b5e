// metadata.managedFields bookkeeping (upstream's apiserver fieldmanager): decoding and encoding the
// entries, and trackUpdate, which every create/update/non-apply patch runs so the writing manager
// owns the fields it changed.

import {
  difference,
  fromFieldsV1,
  goJSON,
  intersection,
  isEmpty,
  toFieldsV1,
  union,
  withoutPrefix,
  type FieldSet,
} from './fieldpath.js';
import { zeroObject } from './field-shape.js';
import { compare, type Comparison } from './structured.js';
import type { FieldError } from '../../api/types.js';

export type Operation = 'Apply' | 'Update';

/** One decoded managedFields entry. */
export interface ManagedEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
  /** The wire entry it was decoded from; re-emitted as is while nothing about it changes. */
  wire?: any;
}

/** Entries by manager identity (upstream's manager identifier: the entry's JSON minus fields and time). */
export type Managed = Map<string, ManagedEntry>;

export function managerIdentity(manager: string, operation: Operation, apiVersion: string, subresource?: string): string {
  const id: Record<string, string> = {};
  if (manager) id.manager = manager;
  id.operation = operation;
  // Appliers keep one entry across versions.
  if (operation === 'Update' && apiVersion) id.apiVersion = apiVersion;
  if (subresource) id.subresource = subresource;
  return goJSON(id);
}

/** Upstream's manager name for requests without ?fieldManager: the User-Agent up to the first '/'. */
export function managerFromUserAgent(ua: string | undefined): string {
  const s = ua ?? '';
  const i = s.indexOf('/');
  return i < 0 ? s : s.slice(0, i);
}

/** Upstream keeps at most this many Update entries; older ones merge into "ancient-changes". */
export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';
export const BEFORE_FIRST_APPLY = 'before-first-apply';

// ---- Decode / encode ---------------------------------------------------------------------------

/** Decodes entries; throws on a malformed entry (unknown fieldsType, bad FieldsV1, bad operation). */
export function decodeManagedFields(entries: unknown): Managed {
  const managed: Managed = new Map();
  if (entries === undefined || entries === null) return managed;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  for (const e of entries) {
    if (e === null || typeof e !== 'object') throw new Error('invalid managedFields entry');
    if (e.fieldsType !== 'FieldsV1') throw new Error(`unsupported fields type ${JSON.stringify(e.fieldsType ?? '')}`);
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error(`unsupported operation ${JSON.stringify(e.operation ?? '')}`);
    const set = e.fieldsV1 === undefined || e.fieldsV1 === null ? {} : fromFieldsV1(e.fieldsV1);
    const id = managerIdentity(e.manager ?? '', e.operation, e.apiVersion ?? '', e.subresource);
    const prev = managed.get(id);
    managed.set(id, {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion ?? '',
      subresource: e.subresource || undefined,
      time: e.time ?? prev?.time,
      set: prev ? union(prev.set, set) : set,
      wire: prev ? undefined : e,
    });
  }
  return managed;
}

/** Decodes, treating corrupt managedFields as absent (upstream resets them). */
export function decodeOrEmpty(entries: unknown): Managed {
  try {
    return decodeManagedFields(entries);
  } catch {
    return new Map();
  }
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function wireEntry(e: ManagedEntry): any {
  if (e.wire && e.wire.time === e.time && e.wire.apiVersion === e.apiVersion) return e.wire;
  const out: any = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
  if (e.time) out.time = e.time;
  out.fieldsType = 'FieldsV1';
  out.fieldsV1 = toFieldsV1(e.set);
  if (e.subresource) out.subresource = e.subresource;
  return out;
}

/** Wire entries in upstream's order: Apply before Update, then by time, manager, apiVersion, subresource. */
export function encodeManagedFields(managed: Managed): any[] {
  const entries = [...managed.values()].filter((e) => !isEmpty(e.set));
  entries.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries.map(wireEntry);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Writes entries to obj.metadata.managedFields (removing the field when there are none). */
export function setManagedFields(obj: any, entries: any[]): void {
  const meta = (obj.metadata ??= {});
  if (entries.length) meta.managedFields = entries;
  else delete meta.managedFields;
}

/** API validation of client-supplied managedFields (upstream ValidateManagedFields), paths under metadata.managedFields. */
export function validateManagedFields(entries: unknown): FieldError[] {
  const errs: FieldError[] = [];
  if (entries === undefined || entries === null) return errs;
  if (!Array.isArray(entries)) return [{ type: 'FieldValueTypeInvalid', field: 'metadata.managedFields', detail: 'must be a list' }];
  entries.forEach((e: any, i: number) => {
    const at = `metadata.managedFields[${i}]`;
    if (e === null || typeof e !== 'object') {
      errs.push({ type: 'FieldValueTypeInvalid', field: at, detail: 'must be an object' });
      return;
    }
    if (Object.keys(e).length === 0) return; // [{}] is the reset request
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      errs.push({ type: 'FieldValueNotSupported', field: `${at}.operation`, badValue: e.operation ?? '', detail: 'supported values: "Apply", "Update"' });
    if (e.fieldsType !== 'FieldsV1')
      errs.push({ type: 'FieldValueNotSupported', field: `${at}.fieldsType`, badValue: e.fieldsType ?? '', detail: 'supported values: "FieldsV1"' });
    if (typeof e.manager === 'string' && Buffer.byteLength(e.manager) > 128)
      errs.push({ type: 'FieldValueTooLong', field: `${at}.manager`, badValue: e.manager, detail: 'must have at most 128 bytes' });
    if (e.fieldsV1 !== undefined) {
      try {
        fromFieldsV1(e.fieldsV1);
      } catch (err) {
        errs.push({ type: 'FieldValueInvalid', field: `${at}.fieldsV1`, badValue: e.fieldsV1, detail: (err as Error).message });
      }
    }
  });
  return errs;
}

// ---- Shared update step ------------------------------------------------------------------------

/** Fields nobody owns (upstream's stripMeta set); removed as exact members from a writer's set. */
const STRIPPED: FieldSet = {
  'f:apiVersion': {},
  'f:kind': {},
  'f:metadata': {
    '.': {},
    'f:name': {},
    'f:namespace': {},
    'f:creationTimestamp': {},
    'f:selfLink': {},
    'f:uid': {},
    'f:clusterName': {},
    'f:generation': {},
    'f:managedFields': {},
    'f:resourceVersion': {},
  },
};

export function stripMeta(set: FieldSet): FieldSet {
  return difference(set, STRIPPED);
}

export interface ResetOptions {
  subresource?: string;
  /** The kind has a status subresource: the main resource does not own status. */
  statusSubresource?: boolean;
  /** Field-name prefixes the strategy resets (upstream GetResetFields); overrides the default. */
  resetFields?: readonly (readonly string[])[];
}

/** Default reset fields: status for the main resource of kinds with a status subresource, spec for status. */
export function resetPrefixes(opts: ResetOptions): readonly (readonly string[])[] {
  if (opts.resetFields) return opts.resetFields;
  if (opts.subresource === 'status') return [['spec']];
  if (!opts.subresource && opts.statusSubresource) return [['status']];
  return [];
}

export function filterSet(set: FieldSet, prefixes: readonly (readonly string[])[]): FieldSet {
  for (const p of prefixes) set = withoutPrefix(set, p);
  return set;
}

export function filterComparison(c: Comparison, prefixes: readonly (readonly string[])[]): Comparison {
  if (!prefixes.length) return c;
  return { changed: filterSet(c.changed, prefixes), removed: filterSet(c.removed, prefixes) };
}

/**
 * Takes changed fields away from every manager except `except` (they moved to the writer) and
 * removed fields from all of them; entries left empty disappear.
 */
export function releaseChanged(managed: Managed, c: Comparison, except?: string): void {
  for (const [id, e] of managed) {
    if (id === except) continue;
    const set = difference(difference(e.set, c.changed), c.removed);
    if (set === e.set) continue;
    if (isEmpty(set)) managed.delete(id);
    else managed.set(id, { ...e, set, wire: undefined });
  }
}

/** Conflicting fields per other manager: fields they own that this change modifies. */
export function conflictsWith(managed: Managed, changed: FieldSet, except: string): Array<[ManagedEntry, FieldSet]> {
  const out: Array<[ManagedEntry, FieldSet]> = [];
  if (isEmpty(changed)) return out;
  for (const [id, e] of managed) {
    if (id === except) continue;
    const c = intersection(e.set, changed);
    if (!isEmpty(c)) out.push([e, c]);
  }
  return out;
}

/** The Update step for `manager`: it gains what changed (minus unowned metadata), others lose it. */
export function recordUpdate(managed: Managed, c: Comparison, manager: string, apiVersion: string, subresource: string | undefined, now: string): void {
  releaseChanged(managed, c);
  const own = stripMeta(c.changed);
  if (isEmpty(own)) return; // nothing changed: the entry (and its time) stays as it was
  const id = managerIdentity(manager, 'Update', apiVersion, subresource);
  const prev = managed.get(id);
  managed.set(id, {
    manager,
    operation: 'Update',
    apiVersion,
    subresource,
    time: now,
    set: prev ? union(prev.set, own) : own,
  });
}

/** Merges the oldest Update entries into per-version "ancient-changes" entries above the cap. */
export function capUpdateManagers(managed: Managed, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managed.entries()].filter(([, e]) => e.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || cmp(ia, ib));
  let count = updaters.length;
  for (const [id, e] of updaters) {
    if (count <= max) break;
    if (e.manager === ANCIENT_CHANGES) continue;
    const bucketId = managerIdentity(ANCIENT_CHANGES, 'Update', e.apiVersion);
    const bucket = managed.get(bucketId);
    if (!bucket) count++;
    managed.set(bucketId, {
      manager: ANCIENT_CHANGES,
      operation: 'Update',
      apiVersion: e.apiVersion,
      time: e.time,
      set: bucket ? union(bucket.set, e.set) : e.set,
    });
    managed.delete(id);
    count--;
  }
}

// ---- trackUpdate -------------------------------------------------------------------------------

export interface TrackUpdateOptions extends ResetOptions {
  manager: string;
  operation: 'Update';
  apiVersion: string;
  now: string;
  /** Default: from updated.apiVersion / updated.kind. */
  group?: string;
  kind?: string;
}

/** `managedFields: []` or `[{}]` in a request asks to clear managedFields. */
function isResetRequest(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  return entries.length === 1 && entries[0] !== null && typeof entries[0] === 'object' && Object.keys(entries[0]).length === 0;
}

export function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/**
 * Records a create (old undefined), update or non-apply patch in updated.metadata.managedFields:
 * the manager's Update entry gains the fields that changed relative to old, other entries lose
 * them, and removed fields leave every entry. Call it after defaulting, before storing.
 *
 * managedFields sent in the request replace the live ones when valid and non-empty (main resource
 * only); `[]`/`[{}]` clears them. Objects that exist without managedFields stay untracked (as
 * upstream) until a server-side apply adopts them. Unchanged entries are shared with old.
 */
export function trackUpdate(old: any | undefined, updated: any, opts: TrackUpdateOptions): void {
  const meta = (updated.metadata ??= {});
  const requested = meta.managedFields;
  let managed: Managed;
  let fromRequest = false;
  if (opts.subresource) managed = decodeOrEmpty(old?.metadata?.managedFields);
  else if (isResetRequest(requested)) managed = new Map();
  else {
    managed = decodeOrEmpty(requested);
    fromRequest = managed.size > 0;
    if (!fromRequest) managed = decodeOrEmpty(old?.metadata?.managedFields);
  }
  if (managed.size === 0 && old !== undefined) {
    delete meta.managedFields;
    return;
  }
  const kind = opts.kind ?? updated.kind ?? old?.kind ?? '';
  const group = opts.group ?? groupOf(updated.apiVersion ?? opts.apiVersion);
  const c = filterComparison(compare(old ?? zeroObject(kind), updated, group, kind), resetPrefixes(opts));
  if (isEmpty(c.changed) && isEmpty(c.removed)) {
    // Nothing changed: keep the entries (no new times); request-supplied ones are put in order.
    setManagedFields(updated, fromRequest ? encodeManagedFields(managed) : (old?.metadata?.managedFields ?? []));
    return;
  }
  recordUpdate(managed, c, opts.manager, opts.apiVersion, opts.subresource, opts.now);
  capUpdateManagers(managed);
  setManagedFields(updated, encodeManagedFields(managed));
}
